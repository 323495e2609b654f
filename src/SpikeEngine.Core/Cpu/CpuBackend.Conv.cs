using System.Buffers;
using System.Numerics.Tensors;

namespace SpikeEngine.Cpu;

public sealed partial class CpuBackend
{
    // Samples are split across cores; each worker owns one column buffer (and, for the weight
    // gradient, one partial sum), and every GEMM is single-threaded.
    private static void ForSampleChunks(int n, Action<int, int, int> body)
    {
        var workers = Math.Min(n, Par.Workers);
        var per = (n + workers - 1) / workers;
        Parallel.For(
            0,
            workers,
            new ParallelOptions { MaxDegreeOfParallelism = workers },
            w =>
            {
                var s = w * per;
                var e = Math.Min(n, s + per);
                if (s < e)
                    body(w, s, e);
            }
        );
    }

    /// <summary>Convolutions that took the event-driven path (forward and weight gradient).</summary>
    public static long EventDrivenConvCalls => Interlocked.Read(ref s_eventDrivenCalls);

    private static long s_eventDrivenCalls;

    /// <summary>
    /// Input density (fraction of non-zeros) below which convolutions take the event-driven path;
    /// negative disables it, above 1 forces it. Default 0.15 (below the measured crossover of forward + weight gradient with the OpenBLAS dense path, docs/architecture.md), or <c>SPIKEENGINE_SPARSE_CONV</c>
    /// (<c>off</c>, <c>on</c>, <c>auto</c> or a number).
    /// </summary>
    public static double EventDrivenDensityThreshold
    {
        get => SpikeConv.DensityThreshold;
        set => SpikeConv.DensityThreshold = value;
    }

    // The event-driven path wins when the input is sparse (spikes); the density scan is one cheap pass.
    private static bool UseEventDriven(Tensor x, bool? force)
    {
        var use =
            force
            ?? (
                SpikeConv.DensityThreshold > 0
                && SpikeConv.Density(x.Span()) < SpikeConv.DensityThreshold
            );
        if (use)
            Interlocked.Increment(ref s_eventDrivenCalls);
        return use;
    }

    public void Conv2dForward(Tensor x, Tensor w, Tensor y, in ConvGeometry g) =>
        Conv2dForward(x, w, y, g, null);

    /// <summary>Forward with the path chosen (<paramref name="eventDriven"/>) or automatic (null).</summary>
    internal void Conv2dForward(Tensor x, Tensor w, Tensor y, in ConvGeometry g, bool? eventDriven)
    {
        if (UseEventDriven(x, eventDriven))
        {
            EventDrivenForward(x, w, y, g);
            return;
        }
        var geo = g;
        var xa = ArrayOf(x);
        var wa = ArrayOf(w);
        var ya = ArrayOf(y);
        int xo = (int)x.Offset,
            wo = (int)w.Offset,
            yo = (int)y.Offset;
        int ckk = g.C * g.KH * g.KW,
            hw = g.OutH * g.OutW,
            inPlane = g.C * g.H * g.W;
        var identity = Im2Col.IsIdentity(g);
        ForSampleChunks(
            g.N,
            (_, s, e) =>
            {
                var col = identity ? null : ArrayPool<float>.Shared.Rent(ckk * hw);
                for (var i = s; i < e; i++)
                {
                    var cs = Im2Col.Columns(
                        new ReadOnlySpan<float>(xa, xo + i * inPlane, inPlane),
                        col,
                        geo
                    );
                    Cpu.Gemm.Run(
                        false,
                        false,
                        geo.K,
                        hw,
                        ckk,
                        1f,
                        new ReadOnlySpan<float>(wa, wo, geo.K * ckk),
                        ckk,
                        cs,
                        hw,
                        0f,
                        new Span<float>(ya, yo + i * geo.K * hw, geo.K * hw),
                        hw
                    );
                }
                if (col is not null)
                    ArrayPool<float>.Shared.Return(col);
            }
        );
    }

    public void Conv2dBackwardData(Tensor gy, Tensor w, Tensor gx, in ConvGeometry g)
    {
        var geo = g;
        var ga = ArrayOf(gy);
        var wa = ArrayOf(w);
        var xa = ArrayOf(gx);
        int go = (int)gy.Offset,
            wo = (int)w.Offset,
            xo = (int)gx.Offset;
        int ckk = g.C * g.KH * g.KW,
            hw = g.OutH * g.OutW,
            inPlane = g.C * g.H * g.W;
        var identity = Im2Col.IsIdentity(g);
        ForSampleChunks(
            g.N,
            (_, s, e) =>
            {
                var col = identity ? null : ArrayPool<float>.Shared.Rent(ckk * hw);
                for (var i = s; i < e; i++)
                {
                    var dst = new Span<float>(xa, xo + i * inPlane, inPlane);
                    var target = col is null ? dst : col.AsSpan(0, ckk * hw);
                    Cpu.Gemm.Run(
                        true,
                        false,
                        ckk,
                        hw,
                        geo.K,
                        1f,
                        new ReadOnlySpan<float>(wa, wo, geo.K * ckk),
                        ckk,
                        new ReadOnlySpan<float>(ga, go + i * geo.K * hw, geo.K * hw),
                        hw,
                        0f,
                        target,
                        hw
                    );
                    if (col is not null)
                    {
                        dst.Clear();
                        Im2Col.Fold(col.AsSpan(0, ckk * hw), dst, geo);
                    }
                }
                if (col is not null)
                    ArrayPool<float>.Shared.Return(col);
            }
        );
    }

    public void Conv2dBackwardFilter(Tensor x, Tensor gy, Tensor gw, in ConvGeometry g) =>
        Conv2dBackwardFilter(x, gy, gw, g, null);

    /// <summary>Weight gradient with the path chosen (<paramref name="eventDriven"/>) or automatic (null).</summary>
    internal void Conv2dBackwardFilter(
        Tensor x,
        Tensor gy,
        Tensor gw,
        in ConvGeometry g,
        bool? eventDriven
    )
    {
        if (UseEventDriven(x, eventDriven))
        {
            EventDrivenFilter(x, gy, gw, g);
            return;
        }
        var geo = g;
        var xa = ArrayOf(x);
        var ga = ArrayOf(gy);
        int xo = (int)x.Offset,
            go = (int)gy.Offset;
        int ckk = g.C * g.KH * g.KW,
            hw = g.OutH * g.OutW,
            inPlane = g.C * g.H * g.W,
            wn = g.K * ckk;
        var identity = Im2Col.IsIdentity(g);
        var workers = Math.Min(g.N, Par.Workers);
        var partials = new float[workers][];
        ForSampleChunks(
            g.N,
            (wi, s, e) =>
            {
                var acc = partials[wi] = ArrayPool<float>.Shared.Rent(wn);
                var col = identity ? null : ArrayPool<float>.Shared.Rent(ckk * hw);
                for (var i = s; i < e; i++)
                {
                    var cs = Im2Col.Columns(
                        new ReadOnlySpan<float>(xa, xo + i * inPlane, inPlane),
                        col,
                        geo
                    );
                    Cpu.Gemm.Run(
                        false,
                        true,
                        geo.K,
                        ckk,
                        hw,
                        1f,
                        new ReadOnlySpan<float>(ga, go + i * geo.K * hw, geo.K * hw),
                        hw,
                        cs,
                        hw,
                        i == s ? 0f : 1f,
                        acc.AsSpan(0, wn),
                        ckk
                    );
                }
                if (col is not null)
                    ArrayPool<float>.Shared.Return(col);
            }
        );
        var dst = gw.Span();
        dst.Clear();
        foreach (var p in partials)
        {
            if (p is null)
                continue;
            TensorPrimitives.Add(dst, p.AsSpan(0, wn), dst);
            ArrayPool<float>.Shared.Return(p);
        }
    }

    private static void EventDrivenForward(Tensor x, Tensor w, Tensor y, in ConvGeometry g)
    {
        var geo = g;
        var xa = ArrayOf(x);
        var ya = ArrayOf(y);
        int xo = (int)x.Offset,
            yo = (int)y.Offset;
        int ckk = g.C * g.KH * g.KW,
            hw = g.OutH * g.OutW,
            inPlane = g.C * g.H * g.W;
        var wT = SpikeConv.TransposeWeights(w.Span(), g.K, ckk);
        ForSampleChunks(
            g.N,
            (_, s, e) =>
            {
                var scratch = new SpikeConv.ForwardScratch(geo);
                for (var i = s; i < e; i++)
                    SpikeConv.ForwardSample(
                        new ReadOnlySpan<float>(xa, xo + i * inPlane, inPlane),
                        wT,
                        new Span<float>(ya, yo + i * geo.K * hw, geo.K * hw),
                        scratch,
                        geo
                    );
            }
        );
        ArrayPool<float>.Shared.Return(wT);
    }

    private static void EventDrivenFilter(Tensor x, Tensor gy, Tensor gw, in ConvGeometry g)
    {
        var geo = g;
        var xa = ArrayOf(x);
        var ga = ArrayOf(gy);
        int xo = (int)x.Offset,
            go = (int)gy.Offset;
        int ckk = g.C * g.KH * g.KW,
            hw = g.OutH * g.OutW,
            inPlane = g.C * g.H * g.W,
            kp = SpikeConv.PaddedK(g.K),
            wn = kp * ckk;
        var workers = Math.Min(g.N, Par.Workers);
        var partials = new float[workers][];
        ForSampleChunks(
            g.N,
            (wi, s, e) =>
            {
                var acc = partials[wi] = new float[wn];
                var scratch = new SpikeConv.FilterScratch(geo);
                for (var i = s; i < e; i++)
                    SpikeConv.FilterSample(
                        new ReadOnlySpan<float>(xa, xo + i * inPlane, inPlane),
                        new ReadOnlySpan<float>(ga, go + i * geo.K * hw, geo.K * hw),
                        scratch,
                        acc,
                        geo
                    );
            }
        );
        // Σ partials ([C·KH·KW, Kp]) then transpose into gw ([K, C·KH·KW]).
        var sum = partials.First(p => p is not null);
        foreach (var p in partials)
        {
            if (p is not null && !ReferenceEquals(p, sum))
                TensorPrimitives.Add(sum, p, sum);
        }
        var dst = gw.Span();
        for (var j = 0; j < ckk; j++)
        for (var k = 0; k < geo.K; k++)
            dst[k * ckk + j] = sum[j * kp + k];
    }
}
