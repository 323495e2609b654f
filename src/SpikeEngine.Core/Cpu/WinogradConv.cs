using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using V = System.Runtime.Intrinsics.Vector256<float>;

namespace SpikeEngine.Cpu;

/// <summary>
/// Winograd F(4 × 4, 3 × 3) convolution for 3 × 3 kernels at stride 1 (Lavin and Gray's minimal
/// filtering): each 4 × 4 output tile is Aᵀ [(G w Gᵀ) ⊙ (Bᵀ d B)] A over its 6 × 6 input tile,
/// 36 multiply-adds per (input, output) channel pair where the direct convolution spends 144.
/// Over a chunk of samples the elementwise products become 36 GEMMs, one per transform point α:
/// M_α [K, tiles] = U_α [K, C] · V_α [C, tiles]. The data and weight gradients are the adjoints
/// of the same linear maps (B d̄ Bᵀ added back onto the overlapping input tiles, Gᵀ Ū G), so the
/// three passes share one set of transforms. The transforms run on <see cref="Vector256{T}"/>
/// over 8 tiles at a time.
/// Both cores work on one chunk at a time: the transforms split the channels, the GEMMs split the
/// 36 points, so the weight gradient needs no per-worker partial sums.
/// <see cref="CpuBackend"/> times this path against the direct ones once per (geometry, pass) and
/// keeps the fastest; its results differ from the direct convolution's by float rounding
/// (3e-6 to 1.3e-5 of the output's scale on unit-scale data, C = K = 16 to 512; oneDNN's direct
/// kernels 4e-7 to 2e-6), as cuDNN's Winograd algorithms do.
/// </summary>
[SkipLocalsInit]
internal static unsafe class WinogradConv
{
    /// <summary>Transform points (6 × 6).</summary>
    private const int Points = 36;

    /// <summary>
    /// Floats added to the row stride of the tile buffers and to the stride between the 36
    /// points' matrices: a transform touches 36 rows at once, and at a power-of-two stride (512
    /// columns, 64 × 512 floats) they would all fall into the same few cache sets.
    /// </summary>
    private const int Skew = 16;

    /// <summary>Columns (tiles) one GEMM aims at.</summary>
    public const int TargetColumns = 512;

    /// <summary>Most floats of one transformed buffer (V or M) of a chunk (8 MiB).</summary>
    public const int MaxBufferFloats = 1 << 21;

    /// <summary>
    /// Layers with fewer input × output channels never try this path: on small layers (the MNIST
    /// models' few dozen channels) the transforms cost more than the multiplications saved.
    /// </summary>
    public const int MinChannelProduct = 4096;

    /// <summary>True when <paramref name="g"/> is a 3 × 3, stride-1 convolution this path can run and is worth timing.</summary>
    public static bool Suits(in ConvGeometry g) =>
        g.KH == 3
        && g.KW == 3
        && g.StrideH == 1
        && g.StrideW == 1
        && g.DilationH == 1
        && g.DilationW == 1
        && g.PadH <= 2
        && g.PadW <= 2
        && g.OutH > 0
        && g.OutW > 0
        && (long)g.K * g.C >= MinChannelProduct
        && (long)Points * Math.Max(g.K, g.C) * Round8(Tiles(g)) <= MaxBufferFloats;

    private static int Tiles(in ConvGeometry g) => (g.OutH + 3) / 4 * ((g.OutW + 3) / 4);

    private static int Round8(int n) => (n + 7) & ~7;

    // Tile grid of one sample: TY × TX tiles of 4 × 4 outputs; the zero-padded input plane
    // (PH × PW) holds input (y, x) at (y + PadH, x + PadW) and covers every tile's 6 × 6 window.
    private readonly struct Grid
    {
        public readonly int TY,
            TX;

        public Grid(in ConvGeometry g)
        {
            TY = (g.OutH + 3) / 4;
            TX = (g.OutW + 3) / 4;
        }

        public int P => TY * TX;
        public int PH => 4 * TY + 2;
        public int PW => 4 * TX + 2;
    }

    // Scratch of one call: the transformed buffers of a chunk (shared by the workers) and each
    // worker's plane and tile buffers.
    private sealed class Scratch : IDisposable
    {
        public readonly int Samples,
            Lp,
            Ld,
            VStride,
            MStride;
        public readonly float[] V,
            M;
        public readonly float[][] Plane,
            Tiles;

        public Scratch(in ConvGeometry g, Grid grid)
        {
            var most = Math.Max(
                1,
                Math.Min(
                    TargetColumns / grid.P,
                    MaxBufferFloats / (Points * Math.Max(g.C, g.K) * grid.P)
                )
            );
            var chunks = (g.N + most - 1) / most;
            Samples = (g.N + chunks - 1) / chunks;
            Lp = Round8(Samples * grid.P);
            Ld = Lp + Skew;
            VStride = g.C * Lp + Skew;
            MStride = g.K * Lp + Skew;
            V = ArrayPool<float>.Shared.Rent(Points * VStride);
            M = ArrayPool<float>.Shared.Rent(Points * MStride);
            var workers = Par.Workers;
            Plane = new float[workers][];
            Tiles = new float[workers][];
            for (var w = 0; w < workers; w++)
            {
                Plane[w] = ArrayPool<float>.Shared.Rent(grid.PH * grid.PW);
                Tiles[w] = ArrayPool<float>.Shared.Rent(Points * Ld);
            }
        }

        public void Dispose()
        {
            ArrayPool<float>.Shared.Return(V);
            ArrayPool<float>.Shared.Return(M);
            foreach (var a in Plane)
                ArrayPool<float>.Shared.Return(a);
            foreach (var a in Tiles)
                ArrayPool<float>.Shared.Return(a);
        }
    }

    // body(first, s, n) for each chunk of n samples from s.
    private static void ForChunks(in ConvGeometry g, Scratch sc, Action<bool, int, int> body)
    {
        for (var s = 0; s < g.N; s += sc.Samples)
            body(s == 0, s, Math.Min(sc.Samples, g.N - s));
    }

    // body(worker, start, end) over [0, n) split evenly across the workers.
    private static void Split(int n, Action<int, int, int> body) =>
        CpuBackend.ForSampleChunks(n, body);

    /// <summary>y = conv(x, w).</summary>
    public static void Forward(
        float[] x,
        int xo,
        float[] w,
        int wo,
        float[] y,
        int yo,
        in ConvGeometry g
    ) => Propagate(false, x, xo, w, wo, y, yo, g);

    /// <summary>gx = conv_transpose(gy, w).</summary>
    public static void BackwardData(
        float[] gy,
        int go,
        float[] w,
        int wo,
        float[] gx,
        int xo,
        in ConvGeometry g
    ) => Propagate(true, gy, go, w, wo, gx, xo, g);

    // Stride between the 36 points' [K, C] weight matrices.
    private static int WeightStride(int kc) => kc + Skew;

    // Forward: V = Bᵀ x B, M_α = U_α · V_α, y = Aᵀ M A. Adjoint (data gradient): M = A gy Aᵀ,
    // V_α = U_αᵀ · M_α, gx = Σ B V Bᵀ.
    private static void Propagate(
        bool adjoint,
        float[] src,
        int so,
        float[] w,
        int wo,
        float[] dst,
        int dso,
        in ConvGeometry g
    )
    {
        var geo = g;
        var grid = new Grid(g);
        int kc = g.K * g.C,
            us = WeightStride(kc);
        var u = ArrayPool<float>.Shared.Rent(Points * us);
        TransformWeights(w, wo, u, kc, us);
        using var sc = new Scratch(g, grid);
        ForChunks(
            g,
            sc,
            (_, s, n) =>
            {
                var lp = sc.Lp;
                if (adjoint)
                    Split(
                        geo.K,
                        (wi, k0, k1) => GradientTransform(src, so, s, n, k0, k1, sc, wi, geo, grid)
                    );
                else
                    Split(
                        geo.C,
                        (wi, c0, c1) => InputTransform(src, so, s, n, c0, c1, sc, wi, geo, grid)
                    );
                var (from, fromStride, rows, to, toStride, inner) = adjoint
                    ? (sc.M, sc.MStride, geo.C, sc.V, sc.VStride, geo.K)
                    : (sc.V, sc.VStride, geo.K, sc.M, sc.MStride, geo.C);
                Split(
                    Points,
                    (_, a0, a1) =>
                    {
                        for (var a = a0; a < a1; a++)
                            Gemm.Run(
                                adjoint,
                                false,
                                rows,
                                lp,
                                inner,
                                1f,
                                new ReadOnlySpan<float>(u, a * us, kc),
                                geo.C,
                                new ReadOnlySpan<float>(from, a * fromStride, inner * lp),
                                lp,
                                0f,
                                new Span<float>(to, a * toStride, rows * lp),
                                lp
                            );
                    }
                );
                if (adjoint)
                    Split(
                        geo.C,
                        (wi, c0, c1) => InputAdjoint(dst, dso, s, n, c0, c1, sc, wi, geo, grid)
                    );
                else
                    Split(
                        geo.K,
                        (wi, k0, k1) => OutputTransform(dst, dso, s, n, k0, k1, sc, wi, geo, grid)
                    );
            }
        );
        ArrayPool<float>.Shared.Return(u);
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
        var grid = new Grid(g);
        int kc = g.K * g.C,
            us = WeightStride(kc);
        var du = ArrayPool<float>.Shared.Rent(Points * us);
        using var sc = new Scratch(g, grid);
        ForChunks(
            g,
            sc,
            (first, s, n) =>
            {
                var lp = sc.Lp;
                Split(
                    geo.C,
                    (wi, c0, c1) => InputTransform(x, xo, s, n, c0, c1, sc, wi, geo, grid)
                );
                Split(
                    geo.K,
                    (wi, k0, k1) => GradientTransform(gy, go, s, n, k0, k1, sc, wi, geo, grid)
                );
                Split(
                    Points,
                    (_, a0, a1) =>
                    {
                        for (var a = a0; a < a1; a++)
                            Gemm.Run(
                                false,
                                true,
                                geo.K,
                                geo.C,
                                lp,
                                1f,
                                new ReadOnlySpan<float>(sc.M, a * sc.MStride, geo.K * lp),
                                lp,
                                new ReadOnlySpan<float>(sc.V, a * sc.VStride, geo.C * lp),
                                lp,
                                first ? 0f : 1f,
                                new Span<float>(du, a * us, kc),
                                geo.C
                            );
                    }
                );
            }
        );
        WeightAdjoint(du, us, gw, wo, kc);
        ArrayPool<float>.Shared.Return(du);
    }

    // ---- Data movement: planes ↔ tile buffers ([36][Ld] or [16][Ld], column = sample·P + tile).

    // Gathers the 6 × 6 windows of a zero-padded plane (row stride pw) into d's 36 rows from
    // column col, or (add) adds d's rows back onto the windows, which overlap by two.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MoveInputTiles(
        float* plane,
        int pw,
        float* d,
        int ld,
        int col,
        Grid grid,
        bool add
    )
    {
        for (var ty = 0; ty < grid.TY; ty++)
        for (var tx = 0; tx < grid.TX; tx++, col++)
        {
            var t = plane + 4 * ty * pw + 4 * tx;
            for (var r = 0; r < 6; r++)
            {
                var row = t + r * pw;
                var q = d + r * 6 * ld + col;
                if (add)
                {
                    row[0] += q[0];
                    row[1] += q[ld];
                    row[2] += q[2 * ld];
                    row[3] += q[3 * ld];
                    row[4] += q[4 * ld];
                    row[5] += q[5 * ld];
                }
                else
                {
                    q[0] = row[0];
                    q[ld] = row[1];
                    q[2 * ld] = row[2];
                    q[3 * ld] = row[3];
                    q[4 * ld] = row[4];
                    q[5 * ld] = row[5];
                }
            }
        }
    }

    // Gathers the 4 × 4 tiles of an OH × OW plane into o's 16 rows from column col (outputs past
    // the edge are left as they are), or (store) writes o's rows back, cropped to the plane.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MoveOutputTiles(
        float* plane,
        int oh,
        int ow,
        float* o,
        int ld,
        int col,
        Grid grid,
        bool store
    )
    {
        for (var ty = 0; ty < grid.TY; ty++)
        {
            var rows = Math.Min(4, oh - 4 * ty);
            for (var tx = 0; tx < grid.TX; tx++, col++)
            {
                var cols = Math.Min(4, ow - 4 * tx);
                var t = plane + 4 * ty * ow + 4 * tx;
                for (var a = 0; a < rows; a++)
                for (var b = 0; b < cols; b++)
                {
                    if (store)
                        t[a * ow + b] = o[(a * 4 + b) * ld + col];
                    else
                        o[(a * 4 + b) * ld + col] = t[a * ow + b];
                }
            }
        }
    }

    // Copies an H × W plane into (or, back, out of) the interior of a zero-padded one.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyPadded(
        float* plane,
        float* padded,
        int pw,
        in ConvGeometry g,
        bool back
    )
    {
        long bytes = g.W * 4L;
        for (var r = 0; r < g.H; r++)
        {
            var inner = padded + (r + g.PadH) * pw + g.PadW;
            if (back)
                Buffer.MemoryCopy(inner, plane + r * g.W, bytes, bytes);
            else
                Buffer.MemoryCopy(plane + r * g.W, inner, bytes, bytes);
        }
    }

    // V[α][c][col] = (Bᵀ d B)[α] for channels [c0, c1) of samples [s, s + n) of x.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InputTransform(
        float[] x,
        int xo,
        int s,
        int n,
        int c0,
        int c1,
        Scratch sc,
        int wi,
        in ConvGeometry g,
        Grid grid
    )
    {
        int ld = sc.Ld,
            plane = g.H * g.W,
            inPlane = g.C * plane;
        var pad = sc.Plane[wi];
        var d = sc.Tiles[wi];
        Array.Clear(pad, 0, grid.PH * grid.PW);
        // Columns past the chunk's tiles stay zero, so they add nothing to any GEMM.
        Array.Clear(d, 0, Points * ld);
        fixed (
            float* px = x,
                pp = pad,
                pd = d,
                pv = sc.V
        )
        {
            for (var c = c0; c < c1; c++)
            {
                for (var i = 0; i < n; i++)
                {
                    CopyPadded(px + xo + (s + i) * inPlane + c * plane, pp, grid.PW, g, false);
                    MoveInputTiles(pp, grid.PW, pd, ld, i * grid.P, grid, false);
                }
                var v = pv + (long)c * sc.Lp;
                for (var col = 0; col < sc.Lp; col += 8)
                    Tile<Bt>(pd + col, ld, v + col, sc.VStride);
            }
        }
    }

    // gx = Σ over the tiles covering each input of (B v̄ Bᵀ), for channels [c0, c1).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InputAdjoint(
        float[] gx,
        int xo,
        int s,
        int n,
        int c0,
        int c1,
        Scratch sc,
        int wi,
        in ConvGeometry g,
        Grid grid
    )
    {
        int ld = sc.Ld,
            plane = g.H * g.W,
            inPlane = g.C * plane;
        var pad = sc.Plane[wi];
        var d = sc.Tiles[wi];
        fixed (
            float* px = gx,
                pp = pad,
                pd = d,
                pv = sc.V
        )
        {
            for (var c = c0; c < c1; c++)
            {
                var v = pv + (long)c * sc.Lp;
                for (var col = 0; col < sc.Lp; col += 8)
                    Tile<B>(v + col, sc.VStride, pd + col, ld);
                for (var i = 0; i < n; i++)
                {
                    new Span<float>(pp, grid.PH * grid.PW).Clear();
                    MoveInputTiles(pp, grid.PW, pd, ld, i * grid.P, grid, true);
                    CopyPadded(px + xo + (s + i) * inPlane + c * plane, pp, grid.PW, g, true);
                }
            }
        }
    }

    // M[α][k][col] = (A ȳ Aᵀ)[α] for output channels [k0, k1) of samples [s, s + n) of gy.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GradientTransform(
        float[] gy,
        int go,
        int s,
        int n,
        int k0,
        int k1,
        Scratch sc,
        int wi,
        in ConvGeometry g,
        Grid grid
    )
    {
        int ld = sc.Ld,
            plane = g.OutH * g.OutW,
            outPlane = g.K * plane;
        var o = sc.Tiles[wi];
        // Outputs past the map's edge and columns past the chunk's tiles stay zero.
        Array.Clear(o, 0, 16 * ld);
        fixed (
            float* pg = gy,
                po = o,
                pm = sc.M
        )
        {
            for (var k = k0; k < k1; k++)
            {
                for (var i = 0; i < n; i++)
                    MoveOutputTiles(
                        pg + go + (s + i) * outPlane + k * plane,
                        g.OutH,
                        g.OutW,
                        po,
                        ld,
                        i * grid.P,
                        grid,
                        false
                    );
                var m = pm + (long)k * sc.Lp;
                for (var col = 0; col < sc.Lp; col += 8)
                    Tile<A>(po + col, ld, m + col, sc.MStride);
            }
        }
    }

    // y = (Aᵀ m A) for output channels [k0, k1), cropped to the map.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void OutputTransform(
        float[] y,
        int yo,
        int s,
        int n,
        int k0,
        int k1,
        Scratch sc,
        int wi,
        in ConvGeometry g,
        Grid grid
    )
    {
        int ld = sc.Ld,
            plane = g.OutH * g.OutW,
            outPlane = g.K * plane;
        var o = sc.Tiles[wi];
        fixed (
            float* py = y,
                po = o,
                pm = sc.M
        )
        {
            for (var k = k0; k < k1; k++)
            {
                var m = pm + (long)k * sc.Lp;
                for (var col = 0; col < sc.Lp; col += 8)
                    Tile<At>(m + col, sc.MStride, po + col, ld);
                for (var i = 0; i < n; i++)
                    MoveOutputTiles(
                        py + yo + (s + i) * outPlane + k * plane,
                        g.OutH,
                        g.OutW,
                        po,
                        ld,
                        i * grid.P,
                        grid,
                        true
                    );
            }
        }
    }

    // ---- Weights: w [K·C][3][3] ↔ U [36][K·C] (the points' matrices us apart).

    // u[α][kc] = (G w Gᵀ)[α], 8 (k, c) pairs at a time.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransformWeights(float[] w, int wo, float[] u, int kc, int us)
    {
        Par.For(
            (kc + 7) / 8,
            64,
            (b0, b1) =>
            {
                Span<float> tail = stackalloc float[8 * 9];
                Span<float> tailOut = stackalloc float[8 * Points];
                fixed (
                    float* pw = w,
                        pu = u,
                        pt = tail,
                        pto = tailOut
                )
                {
                    for (var b = b0; b < b1; b++)
                    {
                        var j = (int)b * 8;
                        if (j + 8 <= kc)
                            WeightTile(pw + wo + j * 9, pu + j, us);
                        else
                        {
                            tail.Clear();
                            new Span<float>(pw + wo + j * 9, (kc - j) * 9).CopyTo(tail);
                            WeightTile(pt, pto, 8);
                            for (var a = 0; a < Points; a++)
                            for (var l = 0; l < kc - j; l++)
                                pu[a * us + j + l] = pto[a * 8 + l];
                        }
                    }
                }
            }
        );
    }

    // gw[kc] = (Gᵀ ū G) over u [36][K·C].
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WeightAdjoint(float[] du, int us, float[] gw, int wo, int kc)
    {
        Par.For(
            (kc + 7) / 8,
            64,
            (b0, b1) =>
            {
                Span<float> tailIn = stackalloc float[8 * Points];
                Span<float> tailOut = stackalloc float[8 * 9];
                fixed (
                    float* pu = du,
                        pw = gw,
                        pti = tailIn,
                        pto = tailOut
                )
                {
                    for (var b = b0; b < b1; b++)
                    {
                        var j = (int)b * 8;
                        if (j + 8 <= kc)
                            WeightAdjointTile(pu + j, us, pw + wo + j * 9);
                        else
                        {
                            var m = kc - j;
                            tailIn.Clear();
                            for (var a = 0; a < Points; a++)
                            for (var l = 0; l < m; l++)
                                pti[a * 8 + l] = pu[a * us + j + l];
                            WeightAdjointTile(pti, 8, pto);
                            new Span<float>(pto, m * 9).CopyTo(
                                new Span<float>(pw + wo + j * 9, m * 9)
                            );
                        }
                    }
                }
            }
        );
    }

    // ---- The transforms on 8 columns at a time.

    /// <summary>
    /// One 1-D transform: <see cref="In"/> vectors at <c>x</c>, <c>x + xs</c>, … to
    /// <see cref="Out"/> vectors at <c>o</c>, <c>o + os</c>, ….
    /// </summary>
    private interface ILine
    {
        static abstract int In { get; }
        static abstract int Out { get; }
        static abstract void Apply(float* x, long xs, float* o, long os);
    }

    /// <summary>
    /// The 2-D transform T x Tᵀ of one tile: element (i, j) of the In × In input at
    /// <c>x + (i·In + j)·xs</c>, element (a, b) of the Out × Out output at <c>o + (a·Out + b)·os</c>;
    /// columns first, into a stack buffer, then rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile<T>(float* x, long xs, float* o, long os)
        where T : struct, ILine
    {
        const int Lanes = 8;
        var t = stackalloc float[Points * 8];
        for (var j = 0; j < T.In; j++)
            T.Apply(x + j * xs, T.In * xs, t + j * Lanes, T.In * Lanes);
        for (var a = 0; a < T.Out; a++)
            T.Apply(t + a * T.In * Lanes, Lanes, o + a * T.Out * os, os);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static V L(float* p, long i, long s) => Vector256.Load(p + i * s);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void S(V v, float* p, long i, long s) => v.Store(p + i * s);

    /// <summary>
    /// Bᵀ over 6 values; rows of Bᵀ: [4 0 −5 0 1 0], [0 −4 −4 1 1 0], [0 4 −4 −1 1 0],
    /// [0 −2 −1 2 1 0], [0 2 −1 −2 1 0], [0 4 0 −5 0 1].
    /// </summary>
    private struct Bt : ILine
    {
        public static int In => 6;
        public static int Out => 6;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Apply(float* x, long xs, float* o, long os)
        {
            V d0 = L(x, 0, xs),
                d1 = L(x, 1, xs),
                d2 = L(x, 2, xs);
            V d3 = L(x, 3, xs),
                d4 = L(x, 4, xs),
                d5 = L(x, 5, xs);
            var a = d4 - d2 * 4f;
            var b = d3 - d1 * 4f;
            var c = d4 - d2;
            var e = (d3 - d1) * 2f;
            S(d0 * 4f - d2 * 5f + d4, o, 0, os);
            S(a + b, o, 1, os);
            S(a - b, o, 2, os);
            S(c + e, o, 3, os);
            S(c - e, o, 4, os);
            S(d1 * 4f - d3 * 5f + d5, o, 5, os);
        }
    }

    /// <summary>B over 6 values (the adjoint of <see cref="Bt"/>).</summary>
    private struct B : ILine
    {
        public static int In => 6;
        public static int Out => 6;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Apply(float* x, long xs, float* o, long os)
        {
            V v0 = L(x, 0, xs),
                v1 = L(x, 1, xs),
                v2 = L(x, 2, xs);
            V v3 = L(x, 3, xs),
                v4 = L(x, 4, xs),
                v5 = L(x, 5, xs);
            S(v0 * 4f, o, 0, os);
            S((v2 - v1 + v5) * 4f + (v4 - v3) * 2f, o, 1, os);
            S(-(v0 * 5f) - (v1 + v2) * 4f - v3 - v4, o, 2, os);
            S(v1 - v2 + (v3 - v4) * 2f - v5 * 5f, o, 3, os);
            S(v0 + v1 + v2 + v3 + v4, o, 4, os);
            S(v5, o, 5, os);
        }
    }

    /// <summary>Aᵀ over 6 values; rows [1 1 1 1 1 0], [0 1 −1 2 −2 0], [0 1 1 4 4 0], [0 1 −1 8 −8 1].</summary>
    private struct At : ILine
    {
        public static int In => 6;
        public static int Out => 4;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Apply(float* x, long xs, float* o, long os)
        {
            V m1 = L(x, 1, xs),
                m2 = L(x, 2, xs),
                m3 = L(x, 3, xs),
                m4 = L(x, 4, xs);
            var p = m1 + m2;
            var q = m1 - m2;
            var r = m3 + m4;
            var t = m3 - m4;
            S(L(x, 0, xs) + p + r, o, 0, os);
            S(q + t * 2f, o, 1, os);
            S(p + r * 4f, o, 2, os);
            S(q + t * 8f + L(x, 5, xs), o, 3, os);
        }
    }

    /// <summary>A over 4 values (the adjoint of <see cref="At"/>).</summary>
    private struct A : ILine
    {
        public static int In => 4;
        public static int Out => 6;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Apply(float* x, long xs, float* o, long os)
        {
            V o0 = L(x, 0, xs),
                o1 = L(x, 1, xs),
                o2 = L(x, 2, xs),
                o3 = L(x, 3, xs);
            var even = o0 + o2;
            var odd = o1 + o3;
            var even4 = o0 + o2 * 4f;
            var odd8 = o1 * 2f + o3 * 8f;
            S(o0, o, 0, os);
            S(even + odd, o, 1, os);
            S(even - odd, o, 2, os);
            S(even4 + odd8, o, 3, os);
            S(even4 - odd8, o, 4, os);
            S(o3, o, 5, os);
        }
    }

    /// <summary>
    /// G over 3 values; rows [1/4 0 0], [−1/6 −1/6 −1/6], [−1/6 1/6 −1/6], [1/24 1/12 1/6],
    /// [1/24 −1/12 1/6], [0 0 1].
    /// </summary>
    private struct G : ILine
    {
        public static int In => 3;
        public static int Out => 6;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Apply(float* x, long xs, float* o, long os)
        {
            V g0 = L(x, 0, xs),
                g1 = L(x, 1, xs),
                g2 = L(x, 2, xs);
            var even = (g0 + g2) * (-1f / 6);
            var odd = g1 * (1f / 6);
            var even2 = g0 * (1f / 24) + g2 * (1f / 6);
            var odd2 = g1 * (1f / 12);
            S(g0 * 0.25f, o, 0, os);
            S(even - odd, o, 1, os);
            S(even + odd, o, 2, os);
            S(even2 + odd2, o, 3, os);
            S(even2 - odd2, o, 4, os);
            S(g2, o, 5, os);
        }
    }

    /// <summary>Gᵀ over 6 values (the adjoint of <see cref="G"/>).</summary>
    private struct Gt : ILine
    {
        public static int In => 6;
        public static int Out => 3;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Apply(float* x, long xs, float* o, long os)
        {
            V u1 = L(x, 1, xs),
                u2 = L(x, 2, xs),
                u3 = L(x, 3, xs),
                u4 = L(x, 4, xs);
            var sum12 = u1 + u2;
            var sum34 = u3 + u4;
            S(L(x, 0, xs) * 0.25f - sum12 * (1f / 6) + sum34 * (1f / 24), o, 0, os);
            S((u2 - u1) * (1f / 6) + (u3 - u4) * (1f / 12), o, 1, os);
            S((sum34 - sum12) * (1f / 6) + L(x, 5, xs), o, 2, os);
        }
    }

    // w: 8 kernels of 9 floats (k, c pairs in a row) → u: 36 rows of ld (G w Gᵀ).
    private static void WeightTile(float* w, float* u, int ld)
    {
        var g = stackalloc float[9 * 8];
        for (var e = 0; e < 9; e++)
        for (var l = 0; l < 8; l++)
            g[e * 8 + l] = w[l * 9 + e];
        Tile<G>(g, 8, u, ld);
    }

    // u: 36 rows of ld → w: 8 kernels of 9 floats (Gᵀ ū G).
    private static void WeightAdjointTile(float* u, int ld, float* w)
    {
        var g = stackalloc float[9 * 8];
        Tile<Gt>(u, ld, g, 8);
        for (var e = 0; e < 9; e++)
        for (var l = 0; l < 8; l++)
            w[l * 9 + e] = g[e * 8 + l];
    }
}
