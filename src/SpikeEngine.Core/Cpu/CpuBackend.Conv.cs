using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace SpikeEngine.Cpu;

public sealed partial class CpuBackend
{
    // Samples are split across cores; each worker owns one column buffer (and, for the weight
    // gradient, one partial sum), and every GEMM is single-threaded.
    internal static void ForSampleChunks(int n, Action<int, int, int> body)
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

    /// <summary>
    /// Which dense convolution path runs (oneDNN, or im2col + GEMM and why) and how the
    /// event-driven path is chosen; <c>spike info</c> prints it.
    /// </summary>
    public static string ConvolutionPath
    {
        get
        {
            var dense =
                DnnlConv.Active ? Dnnl.Status
                : Dnnl.IsAvailable ? "found but disabled; convolutions use im2col + GEMM"
                : Dnnl.Status;
            var t = SpikeConv.DensityThreshold;
            var sparse =
                double.IsNaN(t)
                    ? "event-driven path chosen by measurement per (shape, density bucket)"
                : t < 0 ? "event-driven path off"
                : t > 1 ? "event-driven path always"
                : $"event-driven path below density {t}";
            var batched = BatchedGemmConv switch
            {
                null =>
                    $"maps of at most {BatchedConv.MaxOutputPositions} positions also time a batched im2col + GEMM",
                true =>
                    $"maps of at most {BatchedConv.MaxOutputPositions} positions use a batched im2col + GEMM",
                false => "batched im2col + GEMM off",
            };
            var winograd = WinogradConvolution switch
            {
                null =>
                    $"3 × 3 stride-1 layers of at least {WinogradConv.MinChannelProduct} channel pairs also time Winograd F(4 × 4, 3 × 3)",
                true => "3 × 3 stride-1 layers use Winograd F(4 × 4, 3 × 3)",
                false => "Winograd off",
            };
            var race =
                BatchedGemmConv is null || WinogradConvolution is null
                    ? "; the fastest is kept per (geometry, pass)"
                    : "";
            return $"{dense}; {batched}; {winograd}{race}; {sparse}";
        }
    }

    /// <summary>True when oneDNN was found (<c>libdnnl2</c>).</summary>
    public static bool OneDnnAvailable => Dnnl.IsAvailable;

    /// <summary>
    /// Whether dense convolutions run on oneDNN (default: when it is available) or on im2col +
    /// GEMM (benchmarks switch it).
    /// </summary>
    public static bool UseOneDnn
    {
        get => Dnnl.Enabled;
        set =>
            Dnnl.Enabled =
                !value || Dnnl.IsAvailable
                    ? value
                    : throw new InvalidOperationException($"UseOneDnn: {Dnnl.Status}");
    }

    /// <summary>Convolutions that took the event-driven path (forward and weight gradient).</summary>
    public static long EventDrivenConvCalls => Interlocked.Read(ref s_eventDrivenCalls);

    private static long s_eventDrivenCalls;

    /// <summary>
    /// When the event-driven path runs: negative never, above 1 always, a density in (0, 1] below
    /// it, NaN (the default, <c>SPIKEENGINE_SPARSE_CONV=auto</c>) by measurement: the first time
    /// a (geometry, pass, density bucket) is seen both paths are timed and the faster one is kept
    /// (<see cref="ConvPathChoice"/>). <c>SPIKEENGINE_SPARSE_CONV</c>: <c>off</c>, <c>on</c>,
    /// <c>auto</c> or a density.
    /// </summary>
    public static double EventDrivenDensityThreshold
    {
        get => SpikeConv.DensityThreshold;
        set => SpikeConv.DensityThreshold = value;
    }

    /// <summary>
    /// The batched im2col + GEMM for small output maps (<see cref="BatchedConv"/>): null (the
    /// default, <c>SPIKEENGINE_BATCHED_CONV=auto</c>) times it against the other dense paths the
    /// first time a (geometry, pass) is seen and keeps the fastest; true uses it wherever it
    /// applies, false never. <c>SPIKEENGINE_BATCHED_CONV</c>: <c>auto</c>, <c>on</c>, <c>off</c>.
    /// </summary>
    public static bool? BatchedGemmConv { get; set; } = ReadSwitch("SPIKEENGINE_BATCHED_CONV");

    /// <summary>
    /// The Winograd F(4 × 4, 3 × 3) path for 3 × 3 stride-1 layers (<see cref="WinogradConv"/>):
    /// null (the default, <c>SPIKEENGINE_WINOGRAD_CONV=auto</c>) times it against the other dense
    /// paths the first time a (geometry, pass) is seen and keeps the fastest; true uses it wherever
    /// it applies, false never. <c>SPIKEENGINE_WINOGRAD_CONV</c>: <c>auto</c>, <c>on</c>,
    /// <c>off</c>.
    /// </summary>
    public static bool? WinogradConvolution { get; set; } = ReadSwitch("SPIKEENGINE_WINOGRAD_CONV");

    private static bool? ReadSwitch(string name)
    {
        var env = Environment.GetEnvironmentVariable(name);
        return env?.ToLowerInvariant() switch
        {
            null or "" or "auto" => null,
            "on" => true,
            "off" => false,
            _ => throw new ArgumentException($"{name}: expected auto, on or off, got '{env}'"),
        };
    }

    /// <summary>
    /// The measured choices between the dense paths: keyed by geometry, pass and the candidates
    /// raced (bit 0 oneDNN active, bit 1 batched GEMM, bit 2 Winograd); the value indexes them in
    /// that order after the direct pass.
    /// </summary>
    internal static MeasuredChoice<(ConvGeometry, DnnlConv.Pass, int)> DenseChoice { get; } = new();

    // A convolution pass over three arrays at offsets (DnnlConv's, BatchedConv's and
    // WinogradConv's passes).
    private delegate void ArrayPass(
        float[] a,
        int ao,
        float[] b,
        int bo,
        float[] c,
        int co,
        in ConvGeometry g
    );

    // A convolution pass over three tensors (the per-sample im2col passes).
    private delegate void TensorPass(Tensor a, Tensor b, Tensor c, in ConvGeometry g);

    // The candidates of the dense race for g: bit 1 the batched GEMM, bit 2 Winograd (bit 0,
    // oneDNN active, is added to the key); 0 when only the direct pass may run.
    internal static int DenseRace(in ConvGeometry g)
    {
        var race = 0;
        if (BatchedGemmConv is null && BatchedConv.Suits(g))
            race |= 2;
        if (WinogradConvolution is null && WinogradConv.Suits(g))
            race |= 4;
        return race;
    }

    // The key of DenseChoice for g, pass and its race.
    internal static (ConvGeometry, DnnlConv.Pass, int) DenseKey(
        in ConvGeometry g,
        DnnlConv.Pass pass,
        int race
    ) => (g, pass, race | (DnnlConv.Active ? 1 : 0));

    // The dense pass: oneDNN (or the per-sample im2col without it), on small maps the batched
    // GEMM, on 3 × 3 stride-1 layers Winograd: as forced, or by the measured choice for this
    // geometry and pass. Once a choice is made it runs without allocating.
    private static void RunDense(
        DnnlConv.Pass pass,
        Tensor a,
        Tensor b,
        Tensor c,
        in ConvGeometry g,
        ArrayPass oneDnn,
        TensorPass im2col,
        ArrayPass batchedPass,
        ArrayPass winogradPass
    )
    {
        if (WinogradConvolution == true && WinogradConv.Suits(g))
        {
            Call(winogradPass, a, b, c, g);
            return;
        }
        if (BatchedGemmConv == true && BatchedConv.Suits(g))
        {
            Call(batchedPass, a, b, c, g);
            return;
        }
        var race = DenseRace(g);
        if (race == 0)
        {
            Direct(a, b, c, g, oneDnn, im2col);
            return;
        }
        if (!DenseChoice.TryGetIndex(DenseKey(g, pass, race), out var index))
        {
            RaceDense(pass, a, b, c, g, race, oneDnn, im2col, batchedPass, winogradPass);
            return;
        }
        // Candidates in race order: direct, batched GEMM (bit 1), Winograd (bit 2).
        if (index == 0)
            Direct(a, b, c, g, oneDnn, im2col);
        else
            Call(index == 1 && (race & 2) != 0 ? batchedPass : winogradPass, a, b, c, g);
    }

    private static void Direct(
        Tensor a,
        Tensor b,
        Tensor c,
        in ConvGeometry g,
        ArrayPass oneDnn,
        TensorPass im2col
    )
    {
        if (DnnlConv.Active)
            Call(oneDnn, a, b, c, g);
        else
            im2col(a, b, c, g);
    }

    // The first call of a (geometry, pass): times the candidates and keeps the fastest.
    private static void RaceDense(
        DnnlConv.Pass pass,
        Tensor a,
        Tensor b,
        Tensor c,
        in ConvGeometry g,
        int race,
        ArrayPass oneDnn,
        TensorPass im2col,
        ArrayPass batchedPass,
        ArrayPass winogradPass
    )
    {
        var geo = g;
        var candidates = new List<Action>(3) { () => Direct(a, b, c, geo, oneDnn, im2col) };
        if ((race & 2) != 0)
            candidates.Add(() => Call(batchedPass, a, b, c, geo));
        if ((race & 4) != 0)
            candidates.Add(() => Call(winogradPass, a, b, c, geo));
        // Each runs once untimed first: a first call pays one-off costs (oneDNN's plan, arena
        // and scratchpad, the pool's buffers) that would decide a close race.
        foreach (var run in candidates)
            run();
        DenseChoice.Run(DenseKey(g, pass, race), CollectionsMarshal.AsSpan(candidates));
    }

    private static void Call(ArrayPass pass, Tensor a, Tensor b, Tensor c, in ConvGeometry g) =>
        pass(ArrayOf(a), (int)a.Offset, ArrayOf(b), (int)b.Offset, ArrayOf(c), (int)c.Offset, g);

    // Settles the dense choice of (g, pass) before the dense pass is timed against the
    // event-driven one, so that timing measures the dense pass alone.
    private static void SettleDense(in ConvGeometry g, DnnlConv.Pass pass, Action dense)
    {
        var race = DenseRace(g);
        if (race != 0 && !DenseChoice.TryGetIndex(DenseKey(g, pass, race), out _))
            dense();
    }

    /// <summary>The measured choices between the dense and the event-driven convolution.</summary>
    internal static MeasuredChoice<(ConvGeometry, DnnlConv.Pass, int)> ConvPathChoice { get; } =
        new();

    /// <summary>Densities at or above this never try the event-driven path (it cannot win there).</summary>
    internal const double MeasuredDensityCap = 0.4;

    /// <summary>Width of one density bucket of the measured choice.</summary>
    internal const double DensityBucket = 0.05;

    // Runs the dense or the event-driven pass: as forced, by a fixed threshold, or by the
    // measured choice for this geometry, pass and density bucket.
    private static void RunConvPass(
        Tensor x,
        in ConvGeometry g,
        DnnlConv.Pass pass,
        bool? force,
        Action dense,
        Action eventDriven
    )
    {
        var threshold = SpikeConv.DensityThreshold;
        bool use;
        if (force is { } f)
            use = f;
        else if (threshold < 0)
            use = false;
        else if (threshold > 1)
            use = true;
        else
        {
            var density = SpikeConv.Density(ArrayOf(x), (int)x.Offset, (int)x.Numel);
            if (!double.IsNaN(threshold))
                use = density < threshold;
            else if (density >= MeasuredDensityCap)
                use = false;
            else
            {
                if (DnnlConv.Active)
                    DnnlConv.Implementation(g, pass); // plan created before it is timed
                var key = (g, pass, (int)(density / DensityBucket));
                if (!ConvPathChoice.TryGet(key, out _))
                    SettleDense(g, pass, dense);
                if (ConvPathChoice.Run(key, dense, eventDriven))
                    Interlocked.Increment(ref s_eventDrivenCalls);
                return;
            }
        }
        if (use)
        {
            Interlocked.Increment(ref s_eventDrivenCalls);
            eventDriven();
        }
        else
            dense();
    }

    public void Conv2dForward(Tensor x, Tensor w, Tensor y, in ConvGeometry g) =>
        Conv2dForward(x, w, y, g, null);

    /// <summary>Forward with the path chosen (<paramref name="eventDriven"/>) or automatic (null).</summary>
    internal void Conv2dForward(Tensor x, Tensor w, Tensor y, in ConvGeometry g, bool? eventDriven)
    {
        using var profile = OpProfile.Time(OpKind.ConvForward);
        var geo = g;
        RunConvPass(
            x,
            g,
            DnnlConv.Pass.Forward,
            eventDriven,
            () => DenseForward(x, w, y, geo),
            () => EventDrivenForward(x, w, y, geo)
        );
    }

    private static void DenseForward(Tensor x, Tensor w, Tensor y, in ConvGeometry g) =>
        RunDense(
            DnnlConv.Pass.Forward,
            x,
            w,
            y,
            g,
            DnnlConv.Forward,
            Im2ColForward,
            BatchedConv.Forward,
            WinogradConv.Forward
        );

    /// <summary>The im2col + GEMM forward (the fallback without oneDNN).</summary>
    internal static void Im2ColForward(Tensor x, Tensor w, Tensor y, in ConvGeometry g)
    {
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
        using var profile = OpProfile.Time(OpKind.ConvBackwardData);
        RunDense(
            DnnlConv.Pass.BackwardData,
            gy,
            w,
            gx,
            g,
            DnnlConv.BackwardData,
            Im2ColBackwardData,
            BatchedConv.BackwardData,
            WinogradConv.BackwardData
        );
    }

    /// <summary>The im2col + GEMM data gradient (the fallback without oneDNN).</summary>
    internal static void Im2ColBackwardData(Tensor gy, Tensor w, Tensor gx, in ConvGeometry g)
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
        using var profile = OpProfile.Time(OpKind.ConvBackwardWeights);
        var geo = g;
        RunConvPass(
            x,
            g,
            DnnlConv.Pass.BackwardWeights,
            eventDriven,
            () => DenseFilter(x, gy, gw, geo),
            () => EventDrivenFilter(x, gy, gw, geo)
        );
    }

    private static void DenseFilter(Tensor x, Tensor gy, Tensor gw, in ConvGeometry g) =>
        RunDense(
            DnnlConv.Pass.BackwardWeights,
            x,
            gy,
            gw,
            g,
            DnnlConv.BackwardWeights,
            Im2ColBackwardFilter,
            BatchedConv.BackwardWeights,
            WinogradConv.BackwardWeights
        );

    /// <summary>The im2col + GEMM weight gradient (the fallback without oneDNN).</summary>
    internal static void Im2ColBackwardFilter(Tensor x, Tensor gy, Tensor gw, in ConvGeometry g)
    {
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
        // Samples are independent: chunks of a few samples each, taken by whichever worker is
        // free, so a worker that loses its core for a while does not hold up the call.
        Par.For(
            g.N,
            1,
            (s, e) =>
            {
                var scratch = SpikeConv.ForwardScratchFor(geo);
                for (var i = (int)s; i < e; i++)
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
                var acc = partials[wi] = ArrayPool<float>.Shared.Rent(wn);
                Array.Clear(acc, 0, wn);
                var scratch = SpikeConv.FilterScratchFor(geo);
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
        var sum = partials.First(p => p is not null).AsSpan(0, wn);
        foreach (var p in partials)
        {
            if (p is not null && p.AsSpan(0, wn) != sum)
                TensorPrimitives.Add(sum, p.AsSpan(0, wn), sum);
        }
        var dst = gw.Span();
        for (var j = 0; j < ckk; j++)
        for (var k = 0; k < geo.K; k++)
            dst[k * ckk + j] = sum[j * kp + k];
        foreach (var p in partials)
        {
            if (p is not null)
                ArrayPool<float>.Shared.Return(p);
        }
    }
}
