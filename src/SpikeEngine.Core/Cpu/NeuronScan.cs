using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SpikeEngine.Cpu;

// NeuronScan: multi-step IF / LIF / PLIF neurons on the CPU, forward and backward fused over time
// (ARCHITECTURE.md section 4; kernels/neuron.cu is the CUDA twin).
//   charge  IF:   H_t = V_{t-1} + X_t
//           LIF (decay_input): H_t = V_{t-1} + (X_t - (V_{t-1} - Vr*)) k        k = 1/tau
//           LIF (no decay_input): H_t = V_{t-1} - (V_{t-1} - Vr*) k + X_t
//           PLIF: LIF with k = sigmoid(w)
//   fire    S_t = (H_t >= v_th)
//   reset   hard: V_t = H_t (1 - S_t) + v_reset S_t      soft: V_t = H_t - v_th S_t
// Shapes (M neurons, time-major): x, spikes, h, gx, gSpikes: (T, M); v0, vLast, gv0, gvLast: (M).
//
// Work is split into tiles of `Tile` neurons; a tile runs its whole time loop with its membrane
// (forward) or carried gradient (backward) in a small stack buffer, so each step reads and writes
// contiguous rows of `Tile` floats and the state never leaves L1. Within a row the loop is
// vectorised with Vector<float>; tiles run in parallel. The arithmetic is written in the same
// order as the composite twin (NeuronSlow), so spikes agree bit for bit.
internal static class NeuronScan
{
    public const int Tile = 1024;

    /// <summary>A float32 tensor's array and element offset (Array null: absent).</summary>
    internal readonly record struct Buf(float[]? Array, int Offset)
    {
        public bool IsNull => Array is null;

        public Span<float> Row(int start, int n) => new(Array, Offset + start, n);
    }

    /// <summary>The saved membrane H: float[] (float32) or ushort[] (bfloat16, float16).</summary>
    internal readonly record struct HBuf(Array? Data, int Offset, DType DType)
    {
        public bool IsNull => Data is null;
    }

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
        _ = checked(T * M);
        var c = new Consts(spec, k);
        var tiles = (M + Tile - 1) / Tile;
        var counts = new long[tiles];
        Par.For(
            tiles,
            Math.Max(1, Par.SerialThreshold / ((long)Tile * T)),
            (a, b) =>
            {
                Span<float> v = stackalloc float[Tile];
                Span<float> hb = stackalloc float[Tile];
                for (var tile = (int)a; tile < b; tile++)
                {
                    var i0 = tile * Tile;
                    var n = Math.Min(Tile, M - i0);
                    var vt = v[..n];
                    if (v0.IsNull)
                        vt.Fill(c.Vr);
                    else
                        v0.Row(i0, n).CopyTo(vt);
                    long count = 0;
                    for (var t = 0; t < T; t++)
                    {
                        var row = t * M + i0;
                        var hs =
                            h.DType == DType.Float32 && !h.IsNull
                                ? new Span<float>((float[])h.Data!, h.Offset + row, n)
                                : hb[..n];
                        count += Step(c, x.Row(row, n), vt, hs, s.Row(row, n));
                        if (!h.IsNull && h.DType != DType.Float32)
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
    private static long Step(
        in Consts c,
        ReadOnlySpan<float> xs,
        Span<float> v,
        Span<float> hs,
        Span<float> ss
    )
    {
        var n = v.Length;
        var w = Vector<float>.Count;
        var one = Vector<float>.One;
        var zero = Vector<float>.Zero;
        var vth = new Vector<float>(c.Vth);
        var vr = new Vector<float>(c.Vr);
        var kv = new Vector<float>(c.K);
        var acc = Vector<float>.Zero;
        var j = 0;
        for (; j <= n - w; j += w)
        {
            var vv = new Vector<float>(v[j..]);
            var xv = new Vector<float>(xs[j..]);
            var hv = c.Kind switch
            {
                NeuronKind.If => vv + xv,
                _ when c.Decay => vv + (xv - (vv - vr)) * kv,
                _ => vv - (vv - vr) * kv + xv,
            };
            var fire = Vector.GreaterThanOrEqual(hv, vth);
            var sv = Vector.ConditionalSelect(fire, one, zero);
            vv = c.Hard
                ? Vector.ConditionalSelect(fire, vr, hv)
                : hv - Vector.ConditionalSelect(fire, vth, zero);
            hv.CopyTo(hs[j..]);
            sv.CopyTo(ss[j..]);
            vv.CopyTo(v[j..]);
            acc += sv;
        }
        var count = (long)Vector.Sum(acc);
        for (; j < n; j++)
        {
            var vv = v[j];
            var hv = c.Kind switch
            {
                NeuronKind.If => vv + xs[j],
                _ when c.Decay => vv + (xs[j] - (vv - c.Vr)) * c.K,
                _ => vv - (vv - c.Vr) * c.K + xs[j],
            };
            var fire = hv >= c.Vth;
            hs[j] = hv;
            ss[j] = fire ? 1f : 0f;
            v[j] = c.Hard ? (fire ? c.Vr : hv) : hv - (fire ? c.Vth : 0f);
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
        var surrogate = spec.Surrogate;
        var tiles = (M + Tile - 1) / Tile;
        var partials = new double[tiles];
        Par.For(
            tiles,
            Math.Max(1, Par.SerialThreshold / ((long)Tile * T)),
            (a, b) =>
            {
                Span<float> g = stackalloc float[Tile];
                Span<float> psi = stackalloc float[Tile];
                Span<float> xb = stackalloc float[Tile];
                Span<float> hb = stackalloc float[Tile];
                Span<float> hp = stackalloc float[Tile];
                for (var tile = (int)a; tile < b; tile++)
                {
                    var i0 = tile * Tile;
                    var n = Math.Min(Tile, M - i0);
                    var gt = g[..n];
                    gt.Clear();
                    double dk = 0;
                    for (var t = T - 1; t >= 0; t--)
                    {
                        var row = t * M + i0;
                        var ht = LoadH(h, row, hb[..n]);
                        TensorPrimitives.Subtract(ht, c.Vth, xb[..n]);
                        surrogate.Gradient(xb[..n], psi[..n]);
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
                        dk += StepBack(
                            c,
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

    // One reverse step over a row: g (carried dL/dH_{t+1}) becomes dL/dH_t. gs, gvDirect and vPrev
    // may be empty (no spike gradient, no direct V gradient, no dL/dk). Returns this row's dL/dk.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double StepBack(
        in Consts c,
        ReadOnlySpan<float> hs,
        ReadOnlySpan<float> psi,
        ReadOnlySpan<float> gs,
        ReadOnlySpan<float> gvDirect,
        Span<float> g,
        Span<float> gx,
        ReadOnlySpan<float> vPrev
    )
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
        var beta = new Vector<float>(c.Beta);
        var gamma = new Vector<float>(c.Gamma);
        var acc = Vector<float>.Zero;
        var j = 0;
        for (; j <= n - w; j += w)
        {
            var hv = new Vector<float>(hs[j..]);
            var p = new Vector<float>(psi[j..]);
            var fire = Vector.GreaterThanOrEqual(hv, vth);
            Vector<float> dvdh;
            if (c.Hard)
            {
                dvdh = Vector.ConditionalSelect(fire, zero, one);
                if (!c.Detach)
                    dvdh += (vr - hv) * p;
            }
            else
                dvdh = c.Detach ? one : one - vth * p;
            var gv = beta * new Vector<float>(g[j..]);
            if (hasGv)
                gv += new Vector<float>(gvDirect[j..]);
            var gn = gv * dvdh;
            if (hasGs)
                gn += new Vector<float>(gs[j..]) * p;
            (gamma * gn).CopyTo(gx[j..]);
            gn.CopyTo(g[j..]);
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
            var p = psi[j];
            var fire = hv >= c.Vth;
            float dvdh;
            if (c.Hard)
                dvdh = (fire ? 0f : 1f) + (c.Detach ? 0f : (c.Vr - hv) * p);
            else
                dvdh = c.Detach ? 1f : 1f - c.Vth * p;
            var gv = c.Beta * g[j] + (hasGv ? gvDirect[j] : 0f);
            var gn = gv * dvdh + (hasGs ? gs[j] * p : 0f);
            gx[j] = c.Gamma * gn;
            g[j] = gn;
            if (needDk)
                dk += gn * (c.Decay ? (hv - vPrev[j]) / c.K : c.Vr - vPrev[j]);
        }
        return dk;
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

    // ---------------------------------------------------------------------------------------------
    // saved-state storage: float32 in place, bfloat16/float16 converted (round to nearest even)

    private static void StoreH(ReadOnlySpan<float> src, HBuf h, int row)
    {
        var dst = new Span<ushort>((ushort[])h.Data!, h.Offset + row, src.Length);
        if (h.DType == DType.Float16)
            TensorPrimitives.ConvertToHalf(src, MemoryMarshal.Cast<ushort, Half>(dst));
        else
            ToBFloat16(src, dst);
    }

    // The row of H at `row` as float32: a view of the saved tensor, or converted into scratch.
    private static ReadOnlySpan<float> LoadH(HBuf h, int row, Span<float> scratch)
    {
        var n = scratch.Length;
        if (h.DType == DType.Float32)
            return new ReadOnlySpan<float>((float[])h.Data!, h.Offset + row, n);
        var src = new ReadOnlySpan<ushort>((ushort[])h.Data!, h.Offset + row, n);
        if (h.DType == DType.Float16)
            TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<ushort, Half>(src), scratch);
        else
            FromBFloat16(src, scratch);
        return scratch;
    }

    /// <summary>float32 → bfloat16, round to nearest even, NaN kept quiet (as <see cref="Half16.ToBFloat16"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ToBFloat16(ReadOnlySpan<float> src, Span<ushort> dst)
    {
        var w = Vector<uint>.Count;
        var j = 0;
        for (; j <= src.Length - 2 * w; j += 2 * w)
        {
            var lo = RoundBf16(Vector.AsVectorUInt32(new Vector<float>(src[j..])));
            var hi = RoundBf16(Vector.AsVectorUInt32(new Vector<float>(src[(j + w)..])));
            Vector.Narrow(lo, hi).CopyTo(dst[j..]);
        }
        for (; j < src.Length; j++)
            dst[j] = Half16.ToBFloat16(src[j]);
    }

    private static Vector<uint> RoundBf16(Vector<uint> u)
    {
        var nan = Vector.GreaterThan(
            u & new Vector<uint>(0x7FFFFFFFu),
            new Vector<uint>(0x7F800000u)
        );
        var lsb = Vector.ShiftRightLogical(u, 16) & Vector<uint>.One;
        var rounded = Vector.ShiftRightLogical(u + new Vector<uint>(0x7FFFu) + lsb, 16);
        var quiet = Vector.ShiftRightLogical(u, 16) | new Vector<uint>(0x40u);
        return Vector.ConditionalSelect(nan, quiet, rounded);
    }

    /// <summary>bfloat16 → float32 (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void FromBFloat16(ReadOnlySpan<ushort> src, Span<float> dst)
    {
        var w = Vector<ushort>.Count;
        var half = Vector<uint>.Count;
        var j = 0;
        for (; j <= src.Length - w; j += w)
        {
            Vector.Widen(new Vector<ushort>(src[j..]), out var lo, out var hi);
            Vector.AsVectorSingle(Vector.ShiftLeft(lo, 16)).CopyTo(dst[j..]);
            Vector.AsVectorSingle(Vector.ShiftLeft(hi, 16)).CopyTo(dst[(j + half)..]);
        }
        for (; j < src.Length; j++)
            dst[j] = Half16.FromBFloat16(src[j]);
    }
}
