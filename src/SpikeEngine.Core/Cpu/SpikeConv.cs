using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace SpikeEngine.Cpu;

/// <summary>
/// Event-driven convolution for sparse inputs (spike tensors). Instead of multiplying every input
/// by every weight, each non-zero input x[c, ih, iw] adds v·W[:, c, kh, kw] to the outputs it
/// reaches — with spikes (v = 1, firing rates of 10–25%) most of the dense multiply-adds are
/// skipped. Outputs are accumulated position-major ([OH·OW, K], K contiguous) so every update is
/// one vector add, then transposed. The weight gradient is sparse in its input the same way.
/// Results equal the dense path up to float summation order.
/// </summary>
internal static class SpikeConv
{
    /// <summary>Density below which the event-driven path is used (measured: see docs/architecture.md).</summary>
    public static double DensityThreshold { get; set; } = ReadThreshold();

    private static double ReadThreshold()
    {
        var env = Environment.GetEnvironmentVariable("SPIKEENGINE_SPARSE_CONV");
        return env?.ToLowerInvariant() switch
        {
            "off" => -1,
            "on" => 2,
            null or "" or "auto" => 0.04,
            _ when double.TryParse(
                    env,
                    System.Globalization.CultureInfo.InvariantCulture,
                    out var d
                ) => d,
            _ => throw new ArgumentException(
                $"SPIKEENGINE_SPARSE_CONV: expected off, on, auto or a density, got '{env}'"
            ),
        };
    }

    /// <summary>Fraction of non-zero elements.</summary>
    public static double Density(ReadOnlySpan<float> x)
    {
        if (x.Length == 0)
            return 0;
        long nz = 0;
        foreach (var v in x)
        {
            if (v != 0f)
                nz++;
        }
        return (double)nz / x.Length;
    }

    // dst[0..n) += v · src[0..n): the inner step of both passes, inlined (no per-call dispatch).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddScaled(ref float dst, ref float src, float v, int n)
    {
        var w = Vector<float>.Count;
        var vv = new Vector<float>(v);
        var i = 0;
        for (; i + w <= n; i += w)
        {
            ref var d = ref Unsafe.Add(ref dst, i);
            var r = Vector.FusedMultiplyAdd(
                Vector.LoadUnsafe(ref Unsafe.Add(ref src, i)),
                vv,
                Vector.LoadUnsafe(ref d)
            );
            r.StoreUnsafe(ref d);
        }
        for (; i < n; i++)
            Unsafe.Add(ref dst, i) += v * Unsafe.Add(ref src, i);
    }

    /// <summary>wT[(c·KH + kh)·KW + kw, k] = w[k, c, kh, kw].</summary>
    public static float[] TransposeWeights(ReadOnlySpan<float> w, int k, int ckk)
    {
        var wT = ArrayPool<float>.Shared.Rent(k * ckk);
        for (var o = 0; o < k; o++)
        for (var j = 0; j < ckk; j++)
            wT[j * k + o] = w[o * ckk + j];
        return wT;
    }

    /// <summary>y (one sample, [K, OH·OW]) from x (one sample, [C, H, W]) and wT ([C·KH·KW, K]).</summary>
    public static void ForwardSample(
        ReadOnlySpan<float> x,
        float[] wT,
        Span<float> y,
        float[] yT,
        in ConvGeometry g
    )
    {
        int k = g.K,
            hw = g.OutH * g.OutW,
            taps = g.KH * g.KW;
        Array.Clear(yT, 0, hw * k);
        for (var c = 0; c < g.C; c++)
        for (var ih = 0; ih < g.H; ih++)
        for (var iw = 0; iw < g.W; iw++)
        {
            var v = x[(c * g.H + ih) * g.W + iw];
            if (v == 0f)
                continue;
            for (var kh = 0; kh < g.KH; kh++)
            {
                var nh = ih + g.PadH - kh * g.DilationH;
                if (nh < 0 || nh % g.StrideH != 0 || nh / g.StrideH >= g.OutH)
                    continue;
                var oh = nh / g.StrideH;
                for (var kw = 0; kw < g.KW; kw++)
                {
                    var nw = iw + g.PadW - kw * g.DilationW;
                    if (nw < 0 || nw % g.StrideW != 0 || nw / g.StrideW >= g.OutW)
                        continue;
                    var o = oh * g.OutW + nw / g.StrideW;
                    AddScaled(ref yT[o * k], ref wT[(c * taps + kh * g.KW + kw) * k], v, k);
                }
            }
        }
        // [OH·OW, K] → [K, OH·OW]
        for (var o = 0; o < hw; o++)
        for (var kk = 0; kk < k; kk++)
            y[kk * hw + o] = yT[o * k + kk];
    }

    /// <summary>gWT ([C·KH·KW, K]) += Σ over non-zero inputs of v · gyT[o] for one sample.</summary>
    public static void FilterSample(
        ReadOnlySpan<float> x,
        ReadOnlySpan<float> gy,
        float[] gyT,
        float[] gWT,
        in ConvGeometry g
    )
    {
        int k = g.K,
            hw = g.OutH * g.OutW,
            taps = g.KH * g.KW;
        for (var kk = 0; kk < k; kk++)
        for (var o = 0; o < hw; o++)
            gyT[o * k + kk] = gy[kk * hw + o];
        for (var c = 0; c < g.C; c++)
        for (var ih = 0; ih < g.H; ih++)
        for (var iw = 0; iw < g.W; iw++)
        {
            var v = x[(c * g.H + ih) * g.W + iw];
            if (v == 0f)
                continue;
            for (var kh = 0; kh < g.KH; kh++)
            {
                var nh = ih + g.PadH - kh * g.DilationH;
                if (nh < 0 || nh % g.StrideH != 0 || nh / g.StrideH >= g.OutH)
                    continue;
                var oh = nh / g.StrideH;
                for (var kw = 0; kw < g.KW; kw++)
                {
                    var nw = iw + g.PadW - kw * g.DilationW;
                    if (nw < 0 || nw % g.StrideW != 0 || nw / g.StrideW >= g.OutW)
                        continue;
                    var o = oh * g.OutW + nw / g.StrideW;
                    AddScaled(ref gWT[(c * taps + kh * g.KW + kw) * k], ref gyT[o * k], v, k);
                }
            }
        }
    }
}
