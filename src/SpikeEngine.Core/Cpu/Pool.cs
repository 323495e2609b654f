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
        var geo = g;
        var xa = ArrayOf(x);
        var ya = ArrayOf(y);
        var idx = (byte[])((CpuStorage)argmax.Storage).Data;
        int xo = (int)x.Offset,
            yo = (int)y.Offset,
            io = (int)argmax.Offset;
        int oh = g.OutH,
            ow = g.OutW;
        ForPlanes(
            g.Planes,
            oh * ow,
            p =>
            {
                var xp = xo + p * geo.H * geo.W;
                for (var i = 0; i < oh; i++)
                for (var j = 0; j < ow; j++)
                {
                    var best = float.NegativeInfinity;
                    var bestK = 0;
                    for (var kh = 0; kh < geo.KH; kh++)
                    {
                        var ih = i * geo.StrideH - geo.PadH + kh;
                        if ((uint)ih >= (uint)geo.H)
                            continue;
                        for (var kw = 0; kw < geo.KW; kw++)
                        {
                            var iw = j * geo.StrideW - geo.PadW + kw;
                            if ((uint)iw >= (uint)geo.W)
                                continue;
                            var v = xa[xp + ih * geo.W + iw];
                            if (v > best || float.IsNaN(v))
                            {
                                best = v;
                                bestK = kh * geo.KW + kw;
                            }
                        }
                    }
                    var o = (p * oh + i) * ow + j;
                    ya[yo + o] = best;
                    idx[io + o] = (byte)bestK;
                }
            }
        );
    }

    public void MaxPool2dBackward(Tensor gy, Tensor argmax, Tensor gx, in PoolGeometry g)
    {
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
                var xp = xo + p * geo.H * geo.W;
                Array.Clear(xa, xp, geo.H * geo.W);
                for (var i = 0; i < oh; i++)
                for (var j = 0; j < ow; j++)
                {
                    var o = (p * oh + i) * ow + j;
                    int k = idx[io + o];
                    var ih = i * geo.StrideH - geo.PadH + k / geo.KW;
                    var iw = j * geo.StrideW - geo.PadW + k % geo.KW;
                    xa[xp + ih * geo.W + iw] += ga[go + o];
                }
            }
        );
    }

    public void AvgPool2dForward(Tensor x, Tensor y, in PoolGeometry g)
    {
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
