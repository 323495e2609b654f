using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SpikeEngine.Cpu;

// NeuronScan: multi-step IF / LIF / PLIF neurons on the CPU, forward and backward fused over time
// (docs/neurons.md; kernels/neuron.cu is the CUDA twin).
//   charge  IF:   H_t = V_{t-1} + X_t
//           LIF (decay_input): H_t = V_{t-1} + (X_t - (V_{t-1} - Vr*)) k        k = 1/tau
//           LIF (no decay_input): H_t = V_{t-1} - (V_{t-1} - Vr*) k + X_t
//           PLIF: LIF with k = sigmoid(w)
//   fire    S_t = (H_t >= v_th)
//   reset   hard: V_t = H_t (1 - S_t) + v_reset S_t      soft: V_t = H_t - v_th S_t
// Shapes (M neurons, time-major): x, spikes, h, gx, gSpikes: (T, M); v0, vLast, gv0, gvLast: (M).
//
// Work is split into tiles of up to `Tile` neurons (TileFor); a tile runs its whole time loop with
// its membrane (forward) or carried gradient (backward) in a stack buffer, so each step reads and
// writes contiguous rows of the tile's width and the state stays in L1/L2. Within a row the loop is
// vectorised with Vector<float>; tiles run in parallel. The arithmetic is written in the same
// order as the composite twin (NeuronSlow), so spikes agree bit for bit.
internal static partial class NeuronScan
{
    /// <summary>Largest tile: a row of 8192 floats is 32 KiB, eight 4 KiB pages.</summary>
    public const int Tile = 8192;

    /// <summary>Smallest tile (a 4 KiB row), used when M is too small to give every worker a few 8192-wide tiles.</summary>
    public const int MinTile = 1024;

    // Tile width for M neurons: as wide as possible up to Tile, so each row read or written is
    // several pages long (the hardware prefetchers stop at 4 KiB page boundaries; 4 KiB rows
    // measured ~1.7x slower than 32 KiB rows at [4, 2^22]), but narrow enough that every worker
    // still gets ~4 tiles. A multiple of 64 floats, so rows stay vector- and line-aligned relative
    // to the row start.
    private static int TileFor(int M) => Math.Clamp(M / (Par.Workers * 4) / 64 * 64, MinTile, Tile);

    // Per-call constants, broadcast once.
    private readonly struct Consts
    {
        public readonly NeuronKind Kind;
        public readonly bool Hard,
            Decay,
            Detach;
        public readonly float K,
            Vth,
            Vr,
            Beta,
            Gamma;

        public Consts(in NeuronSpec spec, float k)
        {
            Kind = spec.Kind;
            Hard = spec.HardReset;
            Decay = spec.DecayInput;
            Detach = spec.DetachReset;
            K = k;
            Vth = spec.VThreshold;
            Vr = spec.Rest;
            Beta = Kind == NeuronKind.If ? 1f : 1f - k;
            Gamma = Kind != NeuronKind.If && Decay ? k : 1f;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // compile-time variants: each combination of charge equation and reset is its own JIT-compiled
    // loop (generic struct arguments), so the inner loops carry no per-element branches.

    private interface IFlag
    {
        static abstract bool On { get; }
    }

    private struct Yes : IFlag
    {
        public static bool On => true;
    }

    private struct No : IFlag
    {
        public static bool On => false;
    }

    private interface ICharge
    {
        static abstract Vector<float> H(
            Vector<float> v,
            Vector<float> x,
            Vector<float> vr,
            Vector<float> k
        );
        static abstract float H(float v, float x, float vr, float k);
    }

    private struct ChargeIf : ICharge
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector<float> H(
            Vector<float> v,
            Vector<float> x,
            Vector<float> vr,
            Vector<float> k
        ) => v + x;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float H(float v, float x, float vr, float k) => v + x;
    }

    private struct ChargeDecay : ICharge
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector<float> H(
            Vector<float> v,
            Vector<float> x,
            Vector<float> vr,
            Vector<float> k
        ) => v + (x - (v - vr)) * k;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float H(float v, float x, float vr, float k) => v + (x - (v - vr)) * k;
    }

    private struct ChargeNoDecay : ICharge
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector<float> H(
            Vector<float> v,
            Vector<float> x,
            Vector<float> vr,
            Vector<float> k
        ) => v - (v - vr) * k + x;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float H(float v, float x, float vr, float k) => v - (v - vr) * k + x;
    }

    // ---------------------------------------------------------------------------------------------
    // forward

    /// <summary>Runs the forward scan; returns the number of spikes.</summary>
    public static long Forward(
        in NeuronSpec spec,
        float k,
        int T,
        int M,
        Buf x,
        Buf v0,
        Buf s,
        HBuf h,
        Buf vLast
    )
    {
        var c = new Consts(spec, k);
        var a = new ForwardArgs(T, M, x, v0, s, h, vLast);
        return (c.Kind, c.Decay, c.Hard) switch
        {
            (NeuronKind.If, _, true) => Forward<ChargeIf, Yes>(c, a),
            (NeuronKind.If, _, false) => Forward<ChargeIf, No>(c, a),
            (_, true, true) => Forward<ChargeDecay, Yes>(c, a),
            (_, true, false) => Forward<ChargeDecay, No>(c, a),
            (_, false, true) => Forward<ChargeNoDecay, Yes>(c, a),
            (_, false, false) => Forward<ChargeNoDecay, No>(c, a),
        };
    }

    /// <summary>The tensors of one forward scan: x, s, h (T, M); v0, vLast (M).</summary>
    private readonly record struct ForwardArgs(
        int T,
        int M,
        Buf X,
        Buf V0,
        Buf S,
        HBuf H,
        Buf VLast
    );

    [SkipLocalsInit]
    private static long Forward<TCharge, THard>(Consts c, ForwardArgs args)
        where TCharge : struct, ICharge
        where THard : struct, IFlag
    {
        var (T, M, x, v0, s, h, vLast) = args;
        _ = checked(T * M);
        var tw = TileFor(M);
        var tiles = (M + tw - 1) / tw;
        var counts = new long[tiles];
        var hF32 = h.DType == DType.Float32 && !h.IsNull;
        Par.For(
            tiles,
            Math.Max(1, Par.SerialThreshold / ((long)tw * T)),
            (a, b) =>
            {
                Span<float> v = stackalloc float[tw];
                Span<float> hb = stackalloc float[tw];
                for (var tile = (int)a; tile < b; tile++)
                {
                    var i0 = tile * tw;
                    var n = Math.Min(tw, M - i0);
                    var vt = v[..n];
                    if (v0.IsNull)
                        vt.Fill(c.Vr);
                    else
                        v0.Row(i0, n).CopyTo(vt);
                    long count = 0;
                    for (var t = 0; t < T; t++)
                    {
                        var row = t * M + i0;
                        var hs = hF32
                            ? new Span<float>((float[])h.Data!, h.Offset + row, n)
                            : hb[..n];
                        count += Step<TCharge, THard>(c, x.Row(row, n), vt, hs, s.Row(row, n));
                        if (!hF32 && !h.IsNull)
                            StoreH(hb[..n], h, row);
                    }
                    vt.CopyTo(vLast.Row(i0, n));
                    counts[tile] = count;
                }
            }
        );
        long total = 0;
        foreach (var n in counts)
            total += n;
        return total;
    }

    // One time step over a row of n neurons: v (membrane) is updated in place. Returns the spike count.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static long Step<TCharge, THard>(
        in Consts c,
        ReadOnlySpan<float> xs,
        Span<float> v,
        Span<float> hs,
        Span<float> ss
    )
        where TCharge : struct, ICharge
        where THard : struct, IFlag
    {
        var n = v.Length;
        var w = Vector<float>.Count;
        var one = Vector<float>.One;
        var zero = Vector<float>.Zero;
        var vth = new Vector<float>(c.Vth);
        var vr = new Vector<float>(c.Vr);
        var kv = new Vector<float>(c.K);
        ref var xr = ref MemoryMarshal.GetReference(xs);
        ref var vref = ref MemoryMarshal.GetReference(v);
        ref var hr = ref MemoryMarshal.GetReference(hs);
        ref var sr = ref MemoryMarshal.GetReference(ss);
        var acc = Vector<float>.Zero;
        var j = 0;
        for (; j <= n - w; j += w)
        {
            var vv = Vector.LoadUnsafe(ref vref, (nuint)j);
            var hv = TCharge.H(vv, Vector.LoadUnsafe(ref xr, (nuint)j), vr, kv);
            var fire = Vector.GreaterThanOrEqual(hv, vth);
            var sv = Vector.ConditionalSelect(fire, one, zero);
            vv = THard.On
                ? Vector.ConditionalSelect(fire, vr, hv)
                : hv - Vector.ConditionalSelect(fire, vth, zero);
            hv.StoreUnsafe(ref hr, (nuint)j);
            sv.StoreUnsafe(ref sr, (nuint)j);
            vv.StoreUnsafe(ref vref, (nuint)j);
            acc += sv;
        }
        var count = (long)Vector.Sum(acc);
        for (; j < n; j++)
        {
            var vv = v[j];
            var hv = TCharge.H(vv, xs[j], c.Vr, c.K);
            var fire = hv >= c.Vth;
            hs[j] = hv;
            ss[j] = fire ? 1f : 0f;
            v[j] = THard.On ? (fire ? c.Vr : hv) : hv - (fire ? c.Vth : 0f);
            count += fire ? 1 : 0;
        }
        return count;
    }

    // ---------------------------------------------------------------------------------------------
    // backward, reverse time, carrying g = dL/dH_{t+1} (0 at the start):
    //   psi_t = surrogate(H_t - v_th), S_t recomputed from the saved H_t
    //   dV/dH = hard: (1 - S) + [!detach] (v_reset - H) psi;  soft: 1 - [!detach] v_th psi
    //   gV = dL/dV_t (direct, last step only) + beta g,   beta = 1 - k (LIF, PLIF) or 1 (IF)
    //   g  = gV dV/dH + dL/dS_t psi;  dL/dX_t = gamma g, gamma = k (decay_input) else 1
    //   dL/dV_0 = beta g;  PLIF: dL/dk = sum g dH/dk, dH/dk = (H - V_{t-1}) / k (decay_input) or
    //   -(V_{t-1} - Vr*), with V_{t-1} = reset(H_{t-1}) recomputed from the saved state.
    // The Sigmoid surrogate (the default) is evaluated inside the step loop with FastExp; every
    // other surrogate fills a row of psi through ISurrogate.Gradient first.

    /// <summary>Runs the backward scan; returns dL/dk (0 unless <paramref name="needDk"/>).</summary>
    public static double Backward(
        in NeuronSpec spec,
        float k,
        int T,
        int M,
        HBuf h,
        Buf v0,
        Buf gS,
        Buf gvLast,
        Buf gx,
        Buf gv0,
        bool needDk
    )
    {
        var c = new Consts(spec, k);
        var sig = spec.Surrogate.Kind == SurrogateKind.Sigmoid;
        var a = new BackwardArgs(T, M, h, v0, gS, gvLast, gx, gv0, needDk);
        return (c.Hard, c.Detach, sig) switch
        {
            (true, false, true) => Backward<Yes, No, Yes>(spec, c, a),
            (true, false, false) => Backward<Yes, No, No>(spec, c, a),
            (true, true, true) => Backward<Yes, Yes, Yes>(spec, c, a),
            (true, true, false) => Backward<Yes, Yes, No>(spec, c, a),
            (false, false, true) => Backward<No, No, Yes>(spec, c, a),
            (false, false, false) => Backward<No, No, No>(spec, c, a),
            (false, true, true) => Backward<No, Yes, Yes>(spec, c, a),
            (false, true, false) => Backward<No, Yes, No>(spec, c, a),
        };
    }

    /// <summary>The tensors of one backward scan: h, gS, gx (T, M); v0, gvLast, gv0 (M).</summary>
    private readonly record struct BackwardArgs(
        int T,
        int M,
        HBuf H,
        Buf V0,
        Buf GS,
        Buf GvLast,
        Buf Gx,
        Buf Gv0,
        bool NeedDk
    );

    [SkipLocalsInit]
    private static double Backward<THard, TDetach, TSigmoid>(
        NeuronSpec spec,
        Consts c,
        BackwardArgs args
    )
        where THard : struct, IFlag
        where TDetach : struct, IFlag
        where TSigmoid : struct, IFlag
    {
        var (T, M, h, v0, gS, gvLast, gx, gv0, needDk) = args;
        var surrogate = spec.Surrogate;
        var tw = TileFor(M);
        var tiles = (M + tw - 1) / tw;
        var partials = new double[tiles];
        Par.For(
            tiles,
            Math.Max(1, Par.SerialThreshold / ((long)tw * T)),
            (a, b) =>
            {
                Span<float> g = stackalloc float[tw];
                Span<float> psi = stackalloc float[tw];
                Span<float> hb = stackalloc float[tw];
                Span<float> hp = stackalloc float[tw];
                for (var tile = (int)a; tile < b; tile++)
                {
                    var i0 = tile * tw;
                    var n = Math.Min(tw, M - i0);
                    var gt = g[..n];
                    double dk = 0;
                    for (var t = T - 1; t >= 0; t--)
                    {
                        var row = t * M + i0;
                        var ht = LoadH(h, row, hb[..n]);
                        if (!TSigmoid.On)
                        {
                            TensorPrimitives.Subtract(ht, c.Vth, psi[..n]);
                            surrogate.Gradient(psi[..n], psi[..n]);
                        }
                        scoped ReadOnlySpan<float> vPrev = default;
                        if (needDk)
                        {
                            if (t > 0)
                            {
                                ResetInto(c, LoadH(h, row - M, hp[..n]), hp[..n]);
                                vPrev = hp[..n];
                            }
                            else if (!v0.IsNull)
                                vPrev = v0.Row(i0, n);
                            else
                            {
                                hp[..n].Fill(c.Vr);
                                vPrev = hp[..n];
                            }
                        }
                        dk += StepBack<THard, TDetach, TSigmoid>(
                            c,
                            surrogate.Alpha,
                            t == T - 1,
                            ht,
                            psi[..n],
                            gS.IsNull ? default : gS.Row(row, n),
                            t == T - 1 && !gvLast.IsNull ? gvLast.Row(i0, n) : default,
                            gt,
                            gx.Row(row, n),
                            vPrev
                        );
                    }
                    if (!gv0.IsNull)
                        TensorPrimitives.Multiply(gt, c.Beta, gv0.Row(i0, n));
                    partials[tile] = dk;
                }
            }
        );
        double total = 0;
        foreach (var p in partials)
            total += p;
        return total;
    }

    // One reverse step over a row: g (carried dL/dH_{t+1}, ignored when `first`) becomes dL/dH_t.
    // psi is read (TSigmoid off) or computed here (on). gs, gvDirect and vPrev may be empty (no
    // spike gradient, no direct V gradient, no dL/dk). Returns this row's dL/dk.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double StepBack<THard, TDetach, TSigmoid>(
        in Consts c,
        float alpha,
        bool first,
        ReadOnlySpan<float> hs,
        ReadOnlySpan<float> psi,
        ReadOnlySpan<float> gs,
        ReadOnlySpan<float> gvDirect,
        Span<float> g,
        Span<float> gx,
        ReadOnlySpan<float> vPrev
    )
        where THard : struct, IFlag
        where TDetach : struct, IFlag
        where TSigmoid : struct, IFlag
    {
        var n = g.Length;
        var hasGs = !gs.IsEmpty;
        var hasGv = !gvDirect.IsEmpty;
        var needDk = !vPrev.IsEmpty;
        var w = Vector<float>.Count;
        var one = Vector<float>.One;
        var zero = Vector<float>.Zero;
        var vth = new Vector<float>(c.Vth);
        var vr = new Vector<float>(c.Vr);
        var kv = new Vector<float>(c.K);
        var beta = new Vector<float>(first ? 0f : c.Beta);
        var gamma = new Vector<float>(c.Gamma);
        var av = new Vector<float>(alpha);
        var nav = new Vector<float>(-alpha);
        ref var hr = ref MemoryMarshal.GetReference(hs);
        ref var pr = ref MemoryMarshal.GetReference(psi);
        ref var gsr = ref MemoryMarshal.GetReference(gs);
        ref var gvr = ref MemoryMarshal.GetReference(gvDirect);
        ref var gref = ref MemoryMarshal.GetReference(g);
        ref var gxr = ref MemoryMarshal.GetReference(gx);
        var acc = Vector<float>.Zero;
        var j = 0;
        for (; j <= n - w; j += w)
        {
            var hv = Vector.LoadUnsafe(ref hr, (nuint)j);
            var p = TSigmoid.On
                ? SigmoidGrad(hv - vth, av, nav)
                : Vector.LoadUnsafe(ref pr, (nuint)j);
            var fire = Vector.GreaterThanOrEqual(hv, vth);
            Vector<float> dvdh;
            if (THard.On)
            {
                dvdh = Vector.ConditionalSelect(fire, zero, one);
                if (!TDetach.On)
                    dvdh += (vr - hv) * p;
            }
            else
                dvdh = TDetach.On ? one : one - vth * p;
            // first step: g is not yet carried (0); beta·g is skipped so stale scratch is harmless
            var gv = first ? zero : beta * Vector.LoadUnsafe(ref gref, (nuint)j);
            if (hasGv)
                gv += Vector.LoadUnsafe(ref gvr, (nuint)j);
            var gn = gv * dvdh;
            if (hasGs)
                gn += Vector.LoadUnsafe(ref gsr, (nuint)j) * p;
            (gamma * gn).StoreUnsafe(ref gxr, (nuint)j);
            gn.StoreUnsafe(ref gref, (nuint)j);
            if (needDk)
            {
                var vp = new Vector<float>(vPrev[j..]);
                acc += gn * (c.Decay ? (hv - vp) / kv : vr - vp);
            }
        }
        double dk = needDk ? Vector.Sum(acc) : 0.0;
        for (; j < n; j++)
        {
            var hv = hs[j];
            var p = TSigmoid.On ? SigmoidGrad(hv - c.Vth, alpha) : psi[j];
            var fire = hv >= c.Vth;
            float dvdh;
            if (THard.On)
                dvdh = (fire ? 0f : 1f) + (TDetach.On ? 0f : (c.Vr - hv) * p);
            else
                dvdh = TDetach.On ? 1f : 1f - c.Vth * p;
            var gv = (first ? 0f : c.Beta * g[j]) + (hasGv ? gvDirect[j] : 0f);
            var gn = gv * dvdh + (hasGs ? gs[j] * p : 0f);
            gx[j] = c.Gamma * gn;
            g[j] = gn;
            if (needDk)
                dk += gn * (c.Decay ? (hv - vPrev[j]) / c.K : c.Vr - vPrev[j]);
        }
        return dk;
    }

    // ---------------------------------------------------------------------------------------------
    // Sigmoid surrogate, fused: psi = alpha s (1 - s), s = 1 / (1 + exp(-alpha x)), the formula of
    // SpikeEngine.Nn's Surrogates/Sigmoid.cs (and kernels/surrogate.cuh's sg_sigmoid_grad), with
    // exp from FastExp (max relative error 2e-7 over its range, against 1 ulp for
    // TensorPrimitives.Exp, which widens to double and costs several times more).

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> SigmoidGrad(
        Vector<float> x,
        Vector<float> alpha,
        Vector<float> negAlpha
    )
    {
        var s = Vector<float>.One / (Vector<float>.One + FastExp(x * negAlpha));
        return alpha * s * (Vector<float>.One - s);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float SigmoidGrad(float x, float alpha)
    {
        var s = 1f / (1f + MathF.Exp(-alpha * x));
        return alpha * s * (1f - s);
    }

    /// <summary>
    /// exp(y) in float32: y = n ln2 + r with |r| ≤ ln2/2 (Cody–Waite split of ln2), exp(r) by its
    /// degree-7 Taylor polynomial (truncation ≤ 6e-9 relative), times 2^n built in the exponent
    /// bits. y is clamped to [-87, 88] (results stay normal: exp(-87) ≈ 1.6e-38); NaN in gives NaN
    /// out. Max relative error ≈ 2 ulp (tested against double exp).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector<float> FastExp(Vector<float> y)
    {
        var nan = Vector.Equals(y, y);
        var yc = Vector.Min(Vector.Max(y, new Vector<float>(-87f)), new Vector<float>(88f));
        var nf = Vector.Round(yc * new Vector<float>(1.44269504088896341f));
        var r = Vector.FusedMultiplyAdd(nf, new Vector<float>(-0.693359375f), yc);
        r = Vector.FusedMultiplyAdd(nf, new Vector<float>(2.12194440e-4f), r);
        var p = new Vector<float>(1f / 5040f);
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(1f / 720f));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(1f / 120f));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(1f / 24f));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(1f / 6f));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(0.5f));
        p = Vector.FusedMultiplyAdd(p, r, Vector<float>.One);
        p = Vector.FusedMultiplyAdd(p, r, Vector<float>.One);
        var scale = Vector.AsVectorSingle(
            Vector.ShiftLeft(Vector.ConvertToInt32(nf) + new Vector<int>(127), 23)
        );
        return Vector.ConditionalSelect(nan, p * scale, y);
    }

    // V = reset(H) in place-capable form (src may alias dst).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ResetInto(in Consts c, ReadOnlySpan<float> hs, Span<float> dst)
    {
        var n = dst.Length;
        var w = Vector<float>.Count;
        var vth = new Vector<float>(c.Vth);
        var vr = new Vector<float>(c.Vr);
        var j = 0;
        for (; j <= n - w; j += w)
        {
            var hv = new Vector<float>(hs[j..]);
            var fire = Vector.GreaterThanOrEqual(hv, vth);
            var vv = c.Hard
                ? Vector.ConditionalSelect(fire, vr, hv)
                : hv - Vector.ConditionalSelect(fire, vth, Vector<float>.Zero);
            vv.CopyTo(dst[j..]);
        }
        for (; j < n; j++)
        {
            var hv = hs[j];
            var fire = hv >= c.Vth;
            dst[j] = c.Hard ? (fire ? c.Vr : hv) : hv - (fire ? c.Vth : 0f);
        }
    }
}
