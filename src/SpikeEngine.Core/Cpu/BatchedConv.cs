using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace SpikeEngine.Cpu;

/// <summary>
/// Dense convolution passes as one GEMM over a chunk of samples: the column matrices of several
/// samples sit side by side ([C·KH·KW, n·OH·OW]), so a small feature map (4 × 4, 8 × 8) still
/// gives the GEMM a long inner dimension. On such maps oneDNN's direct AVX2 kernels and the
/// per-sample im2col reach well under the GEMM's rate; <see cref="CpuBackend"/> times this path
/// against them once per (geometry, pass) and keeps the faster.
/// Each worker takes a contiguous range of samples, its own column buffer and single-threaded
/// GEMMs; the weight gradient sums the workers' partial results at the end.
/// </summary>
internal static class BatchedConv
{
    /// <summary>Columns one GEMM aims at (samples × OH·OW).</summary>
    public const int TargetColumns = 1024;

    /// <summary>Most floats of one worker's column buffer (8 MiB).</summary>
    public const int MaxColumnFloats = 1 << 21;

    /// <summary>Output maps up to this many positions try the batched path.</summary>
    public const int MaxOutputPositions = 64;

    /// <summary>
    /// Weights (K·C·KH·KW) below this never try the batched path: small layers (the MNIST
    /// models' 7 × 7 maps with a few dozen channels) lose more to the chunking than the GEMM gains.
    /// </summary>
    public const int MinWeights = 1 << 16;

    /// <summary>True when the batched path is worth timing for <paramref name="g"/>.</summary>
    public static bool Suits(in ConvGeometry g) =>
        g.OutH * g.OutW <= MaxOutputPositions
        && g.N > 1
        && (long)g.K * g.C * g.KH * g.KW >= MinWeights;

    // Samples per GEMM for a worker holding `count` samples: at most TargetColumns columns and
    // MaxColumnFloats floats, split evenly over the chunks.
    private static int ChunkOf(in ConvGeometry g, int count)
    {
        int hw = g.OutH * g.OutW,
            ckk = g.C * g.KH * g.KW;
        var most = Math.Max(
            1,
            Math.Min(TargetColumns / hw, MaxColumnFloats / Math.Max(1, ckk * hw))
        );
        var chunks = (count + most - 1) / most;
        return (count + chunks - 1) / chunks;
    }

    // Gathers samples [s, s + n) of t ([N, K, P]) into dst ([K, n·P]).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gather(float[] t, int offset, int s, int n, int k, int p, Span<float> dst)
    {
        var l = n * p;
        for (var i = 0; i < n; i++)
        {
            var src = new ReadOnlySpan<float>(t, offset + (s + i) * k * p, k * p);
            for (var c = 0; c < k; c++)
                src.Slice(c * p, p).CopyTo(dst.Slice(c * l + i * p, p));
        }
    }

    // Unfolds samples [s, s + n) of x side by side into cols ([C·KH·KW, n·OH·OW]).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Unfold(
        float[] x,
        int xo,
        int s,
        int n,
        float[] cols,
        float[] padded,
        in ConvGeometry g
    )
    {
        int hw = g.OutH * g.OutW,
            inPlane = g.C * g.H * g.W;
        for (var i = 0; i < n; i++)
            Im2Col.UnfoldPadded(
                new ReadOnlySpan<float>(x, xo + (s + i) * inPlane, inPlane),
                cols.AsSpan(i * hw),
                g,
                n * hw,
                padded
            );
    }

    // body(worker, first, s, n, padded, cols, kBuf) for each chunk of n samples from s of each
    // worker's range (first: the worker's first chunk), with the worker's zero-padded plane, its
    // column buffer ([C·KH·KW, n·OH·OW]) and a [K, n·OH·OW] buffer.
    private delegate void ChunkBody(
        int worker,
        bool first,
        int s,
        int n,
        float[] padded,
        float[] cols,
        float[] kBuf
    );

    private static void ForChunks(in ConvGeometry g, ChunkBody body)
    {
        var geo = g;
        int hw = g.OutH * g.OutW,
            ckk = g.C * g.KH * g.KW;
        CpuBackend.ForSampleChunks(
            g.N,
            (wi, s, e) =>
            {
                var nb = ChunkOf(geo, e - s);
                var padded = ArrayPool<float>.Shared.Rent(Im2Col.PaddedPlane(geo));
                var cols = ArrayPool<float>.Shared.Rent(ckk * nb * hw);
                var kBuf = ArrayPool<float>.Shared.Rent(geo.K * nb * hw);
                for (var c0 = s; c0 < e; c0 += nb)
                    body(wi, c0 == s, c0, Math.Min(nb, e - c0), padded, cols, kBuf);
                ArrayPool<float>.Shared.Return(padded);
                ArrayPool<float>.Shared.Return(cols);
                ArrayPool<float>.Shared.Return(kBuf);
            }
        );
    }

    /// <summary>y = conv(x, w).</summary>
    public static void Forward(
        float[] x,
        int xo,
        float[] w,
        int wo,
        float[] y,
        int yo,
        in ConvGeometry g
    )
    {
        var geo = g;
        int hw = g.OutH * g.OutW,
            ckk = g.C * g.KH * g.KW,
            outPlane = g.K * hw;
        ForChunks(
            g,
            (_, _, s, n, padded, cols, prod) =>
            {
                var l = n * hw;
                Unfold(x, xo, s, n, cols, padded, geo);
                Gemm.Run(
                    false,
                    false,
                    geo.K,
                    l,
                    ckk,
                    1f,
                    new ReadOnlySpan<float>(w, wo, geo.K * ckk),
                    ckk,
                    cols.AsSpan(0, ckk * l),
                    l,
                    0f,
                    prod.AsSpan(0, geo.K * l),
                    l
                );
                for (var i = 0; i < n; i++)
                {
                    var dst = new Span<float>(y, yo + (s + i) * outPlane, outPlane);
                    for (var k = 0; k < geo.K; k++)
                        prod.AsSpan(k * l + i * hw, hw).CopyTo(dst.Slice(k * hw, hw));
                }
            }
        );
    }

    /// <summary>gx = conv_transpose(gy, w).</summary>
    public static void BackwardData(
        float[] gy,
        int go,
        float[] w,
        int wo,
        float[] gx,
        int xo,
        in ConvGeometry g
    )
    {
        var geo = g;
        int hw = g.OutH * g.OutW,
            ckk = g.C * g.KH * g.KW,
            inPlane = g.C * g.H * g.W;
        ForChunks(
            g,
            (_, _, s, n, padded, cols, gyT) =>
            {
                var l = n * hw;
                Gather(gy, go, s, n, geo.K, hw, gyT);
                Gemm.Run(
                    true,
                    false,
                    ckk,
                    l,
                    geo.K,
                    1f,
                    new ReadOnlySpan<float>(w, wo, geo.K * ckk),
                    ckk,
                    gyT.AsSpan(0, geo.K * l),
                    l,
                    0f,
                    cols.AsSpan(0, ckk * l),
                    l
                );
                for (var i = 0; i < n; i++)
                {
                    var dst = new Span<float>(gx, xo + (s + i) * inPlane, inPlane);
                    dst.Clear();
                    Im2Col.FoldPadded(cols.AsSpan(i * hw), dst, geo, l, padded);
                }
            }
        );
    }

    /// <summary>gw = Σ_n gy ⋆ x.</summary>
    public static void BackwardWeights(
        float[] x,
        int xo,
        float[] gy,
        int go,
        float[] gw,
        int wo,
        in ConvGeometry g
    )
    {
        var geo = g;
        int hw = g.OutH * g.OutW,
            ckk = g.C * g.KH * g.KW,
            wn = g.K * ckk;
        // The first worker sums straight into gw, the others into partial sums.
        var partials = new float[Math.Min(g.N, Par.Workers)][];
        ForChunks(
            g,
            (wi, first, s, n, padded, cols, gyT) =>
            {
                if (first && wi > 0)
                    partials[wi] = ArrayPool<float>.Shared.Rent(wn);
                var l = n * hw;
                Unfold(x, xo, s, n, cols, padded, geo);
                Gather(gy, go, s, n, geo.K, hw, gyT);
                Gemm.Run(
                    false,
                    true,
                    geo.K,
                    ckk,
                    l,
                    1f,
                    gyT.AsSpan(0, geo.K * l),
                    l,
                    cols.AsSpan(0, ckk * l),
                    l,
                    first ? 0f : 1f,
                    wi == 0 ? gw.AsSpan(wo, wn) : partials[wi].AsSpan(0, wn),
                    ckk
                );
            }
        );
        // Workers past the last sample hold no partial sum.
        var dst = new Span<float>(gw, wo, wn);
        foreach (var p in partials.Where(p => p is not null))
        {
            TensorPrimitives.Add(dst, p.AsSpan(0, wn), dst);
            ArrayPool<float>.Shared.Return(p);
        }
    }
}
