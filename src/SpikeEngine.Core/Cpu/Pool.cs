using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SpikeEngine.Cpu;

public sealed partial class CpuBackend
{
    // Pooling parallelises over (N·C) planes, a few thousand output elements per chunk.
    private static void ForPlanes(int planes, int elementsPerPlane, Action<int> plane) =>
        Par.For(
            planes,
            Math.Max(1, 4096 / elementsPerPlane),
            (s, e) =>
            {
                for (var p = (int)s; p < e; p++)
                    plane(p);
            }
        );

    public void MaxPool2dForward(Tensor x, Tensor y, Tensor argmax, in PoolGeometry g)
    {
        using var profile = OpProfile.Time(OpKind.Pooling);
        var geo = g;
        var xa = ArrayOf(x);
        var ya = ArrayOf(y);
        var idx = (byte[])((CpuStorage)argmax.Storage).Data;
        int xo = (int)x.Offset,
            yo = (int)y.Offset,
            io = (int)argmax.Offset;
        var outs = g.OutH * g.OutW;
        ForPlanes(
            g.Planes,
            outs,
            p =>
                MaxPoolPlane(
                    xa.AsSpan(xo + p * geo.H * geo.W, geo.H * geo.W),
                    ya.AsSpan(yo + p * outs, outs),
                    idx.AsSpan(io + p * outs, outs),
                    geo
                )
        );
    }

    // One plane of the max pool: the winner of each window is the first maximum in row-major
    // window order, a NaN winning (and the last NaN winning over an earlier one), as the CUDA
    // kernel does; argmax = kh·KW + kw. Outputs whose window lies inside the row take the vector
    // path (8 outputs at a time, for strides 1 and 2), the edges the scalar one; both apply the
    // same comparisons in the same order, so the results are the same.
    internal static void MaxPoolPlane(
        ReadOnlySpan<float> x,
        Span<float> y,
        Span<byte> argmax,
        in PoolGeometry g
    )
    {
        int oh = g.OutH,
            ow = g.OutW;
        // Columns whose whole window is inside the row: j·SW − PW ≥ 0 and j·SW − PW + KW ≤ W.
        var jLo = Math.Min(ow, (g.PadW + g.StrideW - 1) / g.StrideW);
        var jHi =
            g.W - g.KW + g.PadW < 0 ? jLo : Math.Min(ow, (g.W - g.KW + g.PadW) / g.StrideW + 1);
        jHi = Math.Max(jLo, jHi);
        var vector = Avx2.IsSupported && g.StrideW is 1 or 2;
        for (var i = 0; i < oh; i++)
        {
            var top = i * g.StrideH - g.PadH;
            int kh0 = Math.Max(0, -top),
                kh1 = Math.Min(g.KH, g.H - top);
            var yRow = y.Slice(i * ow, ow);
            var aRow = argmax.Slice(i * ow, ow);
            var j = 0;
            for (; j < jLo; j++)
                MaxPoolOne(x, g, top, kh0, kh1, j, out yRow[j], out aRow[j]);
            if (vector)
            {
                // The loads of stride 2 read one element past the last window column.
                var last = g.StrideW == 2 ? g.W - g.KW + g.PadW - 1 : g.W - g.KW + g.PadW;
                for (; j + 8 <= jHi && (j + 7) * g.StrideW <= last; j += 8)
                    MaxPoolEight(x, g, top, kh0, kh1, j, yRow.Slice(j, 8), aRow.Slice(j, 8));
            }
            for (; j < ow; j++)
                MaxPoolOne(x, g, top, kh0, kh1, j, out yRow[j], out aRow[j]);
        }
    }

    private static void MaxPoolOne(
        ReadOnlySpan<float> x,
        in PoolGeometry g,
        int top,
        int kh0,
        int kh1,
        int j,
        out float y,
        out byte argmax
    )
    {
        var best = float.NegativeInfinity;
        var bestK = 0;
        var left = j * g.StrideW - g.PadW;
        int kw0 = Math.Max(0, -left),
            kw1 = Math.Min(g.KW, g.W - left);
        for (var kh = kh0; kh < kh1; kh++)
        {
            var row = x.Slice((top + kh) * g.W + left + kw0, kw1 - kw0);
            for (var kw = 0; kw < row.Length; kw++)
            {
                var v = row[kw];
                if (v > best || float.IsNaN(v))
                {
                    best = v;
                    bestK = kh * g.KW + kw0 + kw;
                }
            }
        }
        y = best;
        argmax = (byte)bestK;
    }

    private static void MaxPoolEight(
        ReadOnlySpan<float> x,
        in PoolGeometry g,
        int top,
        int kh0,
        int kh1,
        int j,
        Span<float> y,
        Span<byte> argmax
    )
    {
        var best = Vector256.Create(float.NegativeInfinity);
        var bestK = Vector256<float>.Zero;
        ref var x0 = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
        var left = j * g.StrideW - g.PadW;
        for (var kh = kh0; kh < kh1; kh++)
        {
            var rowStart = (top + kh) * g.W + left;
            for (var kw = 0; kw < g.KW; kw++)
            {
                Vector256<float> v;
                if (g.StrideW == 1)
                    v = Vector256.LoadUnsafe(ref x0, (nuint)(rowStart + kw));
                else
                {
                    // Elements 0, 2, ..., 14 from two loads: shuffle within lanes, then order the
                    // 64-bit pairs.
                    var a = Vector256.LoadUnsafe(ref x0, (nuint)(rowStart + kw));
                    var b = Vector256.LoadUnsafe(ref x0, (nuint)(rowStart + kw + 8));
                    v = Avx2.Permute4x64(Avx.Shuffle(a, b, 0b10_00_10_00).AsDouble(), 0b11_01_10_00)
                        .AsSingle();
                }
                var take = Vector256.GreaterThan(v, best) | ~Vector256.Equals(v, v);
                best = Vector256.ConditionalSelect(take, v, best);
                bestK = Vector256.ConditionalSelect(
                    take,
                    Vector256.Create((float)(kh * g.KW + kw)),
                    bestK
                );
            }
        }
        best.CopyTo(y);
        var k = Vector256.ConvertToInt32(bestK);
        for (var l = 0; l < 8; l++)
            argmax[l] = (byte)k.GetElement(l);
    }

    public void MaxPool2dBackward(Tensor gy, Tensor argmax, Tensor gx, in PoolGeometry g)
    {
        using var profile = OpProfile.Time(OpKind.Pooling);
        var geo = g;
        var ga = ArrayOf(gy);
        var xa = ArrayOf(gx);
        var idx = (byte[])((CpuStorage)argmax.Storage).Data;
        int go = (int)gy.Offset,
            xo = (int)gx.Offset,
            io = (int)argmax.Offset;
        int oh = g.OutH,
            ow = g.OutW;
        ForPlanes(
            g.Planes,
            oh * ow,
            p =>
            {
                var gx1 = xa.AsSpan(xo + p * geo.H * geo.W, geo.H * geo.W);
                gx1.Clear();
                var gy1 = ga.AsSpan(go + p * oh * ow, oh * ow);
                var k1 = idx.AsSpan(io + p * oh * ow, oh * ow);
                for (var i = 0; i < oh; i++)
                {
                    var top = i * geo.StrideH - geo.PadH;
                    for (var j = 0; j < ow; j++)
                    {
                        var o = i * ow + j;
                        int k = k1[o];
                        int kh = k / geo.KW,
                            kw = k - kh * geo.KW;
                        int ih = top + kh,
                            iw = j * geo.StrideW - geo.PadW + kw;
                        // A window of −∞ only keeps argmax 0, which may fall in the padding: its
                        // gradient goes nowhere (the CUDA kernel gathers and never finds it).
                        if ((uint)ih < (uint)geo.H && (uint)iw < (uint)geo.W)
                            gx1[ih * geo.W + iw] += gy1[o];
                    }
                }
            }
        );
    }

    public void AvgPool2dForward(Tensor x, Tensor y, in PoolGeometry g)
    {
        using var profile = OpProfile.Time(OpKind.Pooling);
        var geo = g;
        var xa = ArrayOf(x);
        var ya = ArrayOf(y);
        int xo = (int)x.Offset,
            yo = (int)y.Offset;
        int oh = g.OutH,
            ow = g.OutW;
        var inv = 1f / (g.KH * g.KW);
        ForPlanes(
            g.Planes,
            oh * ow,
            p =>
            {
                var xp = xo + p * geo.H * geo.W;
                for (var i = 0; i < oh; i++)
                for (var j = 0; j < ow; j++)
                {
                    var sum = 0f;
                    for (var kh = 0; kh < geo.KH; kh++)
                    {
                        var ih = i * geo.StrideH - geo.PadH + kh;
                        if ((uint)ih >= (uint)geo.H)
                            continue;
                        for (var kw = 0; kw < geo.KW; kw++)
                        {
                            var iw = j * geo.StrideW - geo.PadW + kw;
                            if ((uint)iw < (uint)geo.W)
                                sum += xa[xp + ih * geo.W + iw];
                        }
                    }
                    ya[yo + (p * oh + i) * ow + j] = sum * inv;
                }
            }
        );
    }

    public void AvgPool2dBackward(Tensor gy, Tensor gx, in PoolGeometry g)
    {
        using var profile = OpProfile.Time(OpKind.Pooling);
        var geo = g;
        var ga = ArrayOf(gy);
        var xa = ArrayOf(gx);
        int go = (int)gy.Offset,
            xo = (int)gx.Offset;
        int oh = g.OutH,
            ow = g.OutW;
        var inv = 1f / (g.KH * g.KW);
        ForPlanes(
            g.Planes,
            oh * ow,
            p =>
            {
                var xp = xo + p * geo.H * geo.W;
                Array.Clear(xa, xp, geo.H * geo.W);
                for (var i = 0; i < oh; i++)
                for (var j = 0; j < ow; j++)
                {
                    var v = ga[go + (p * oh + i) * ow + j] * inv;
                    for (var kh = 0; kh < geo.KH; kh++)
                    {
                        var ih = i * geo.StrideH - geo.PadH + kh;
                        if ((uint)ih >= (uint)geo.H)
                            continue;
                        for (var kw = 0; kw < geo.KW; kw++)
                        {
                            var iw = j * geo.StrideW - geo.PadW + kw;
                            if ((uint)iw < (uint)geo.W)
                                xa[xp + ih * geo.W + iw] += v;
                        }
                    }
                }
            }
        );
    }

    // Adaptive windows follow the usual rule: start = floor(i·H/OH), end = ceil((i+1)·H/OH).
    private static (int Start, int End) Window(int i, int size, int outSize) =>
        (i * size / outSize, ((i + 1) * size + outSize - 1) / outSize);

    public void AdaptiveAvgPool2dForward(
        Tensor x,
        Tensor y,
        int planes,
        int h,
        int w,
        int outH,
        int outW
    )
    {
        using var profile = OpProfile.Time(OpKind.Pooling);
        var xa = ArrayOf(x);
        var ya = ArrayOf(y);
        int xo = (int)x.Offset,
            yo = (int)y.Offset;
        ForPlanes(
            planes,
            h * w,
            p =>
            {
                var xp = xo + p * h * w;
                for (var i = 0; i < outH; i++)
                {
                    var (h0, h1) = Window(i, h, outH);
                    for (var j = 0; j < outW; j++)
                    {
                        var (w0, w1) = Window(j, w, outW);
                        double sum = 0;
                        for (var a = h0; a < h1; a++)
                        for (var b = w0; b < w1; b++)
                            sum += xa[xp + a * w + b];
                        ya[yo + (p * outH + i) * outW + j] = (float)(sum / ((h1 - h0) * (w1 - w0)));
                    }
                }
            }
        );
    }

    public void AdaptiveAvgPool2dBackward(
        Tensor gy,
        Tensor gx,
        int planes,
        int h,
        int w,
        int outH,
        int outW
    )
    {
        using var profile = OpProfile.Time(OpKind.Pooling);
        var ga = ArrayOf(gy);
        var xa = ArrayOf(gx);
        int go = (int)gy.Offset,
            xo = (int)gx.Offset;
        ForPlanes(
            planes,
            h * w,
            p =>
            {
                var xp = xo + p * h * w;
                Array.Clear(xa, xp, h * w);
                for (var i = 0; i < outH; i++)
                {
                    var (h0, h1) = Window(i, h, outH);
                    for (var j = 0; j < outW; j++)
                    {
                        var (w0, w1) = Window(j, w, outW);
                        var v = ga[go + (p * outH + i) * outW + j] / ((h1 - h0) * (w1 - w0));
                        for (var a = h0; a < h1; a++)
                        for (var b = w0; b < w1; b++)
                            xa[xp + a * w + b] += v;
                    }
                }
            }
        );
    }
}
