using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SpikeEngine.Cpu;

/// <summary>
/// Event-driven convolution for sparse inputs (spike tensors): only the non-zero inputs are
/// touched, so with spikes (firing rates of 10–25%) most of the dense multiply-adds are skipped.
/// Results equal the dense path up to float summation order.
/// <para>
/// Forward, gathered weight rows: for each output position the active taps (c, kh, kw) under its
/// window are listed (the input is first copied channel-last and zero-padded, so a window is KH·KW
/// contiguous runs of C values), then the output's K channels are held in registers, a block of
/// 8 vectors at a time, while the weight rows wT[tap, :] of the active taps are added in
/// (v·row, one FMA per vector; v = 1 for spikes). Nothing is stored until the position is done.
/// </para>
/// <para>
/// Weight gradient, per tap: gW[:, tap] = Σ over the active inputs of channel c, shifted by
/// (kh, kw) onto the output positions they reach, of v·gy[:, o]; the tap's K gradients are held in
/// registers while the rows gyT[o, :] (gy transposed position-major, L2-resident) are added in.
/// </para>
/// Rows of K are padded to a multiple of the vector width with zeros (<c>Kp</c>).
/// </summary>
internal static class SpikeConv
{
    /// <summary>
    /// Density below which the event-driven path is used; NaN (the default) chooses by
    /// measurement (<see cref="CpuBackend.EventDrivenDensityThreshold"/>).
    /// </summary>
    public static double DensityThreshold { get; set; } = ReadThreshold();

    private static double ReadThreshold()
    {
        var env = Environment.GetEnvironmentVariable("SPIKEENGINE_SPARSE_CONV");
        return env?.ToLowerInvariant() switch
        {
            "off" => -1,
            "on" => 2,
            null or "" or "auto" => double.NaN,
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

    /// <summary>Fraction of non-zero elements (−0 counts as zero, NaN as non-zero).</summary>
    public static double Density(ReadOnlySpan<float> x) =>
        x.Length == 0 ? 0 : (double)CountNonZero(x) / x.Length;

    /// <summary>
    /// <see cref="Density(ReadOnlySpan{float})"/> of <c>a[offset .. offset + length)</c>, counted in
    /// chunks across cores (an exact count, so the result does not depend on the split).
    /// </summary>
    public static double Density(float[] a, int offset, int length)
    {
        if (length == 0)
            return 0;
        long nz = 0;
        Par.For(
            length,
            Par.SerialThreshold * 4,
            (s, e) =>
                Interlocked.Add(
                    ref nz,
                    CountNonZero(new ReadOnlySpan<float>(a, offset + (int)s, (int)(e - s)))
                )
        );
        return (double)nz / length;
    }

    /// <summary>Elements that compare unequal to 0 (IEEE comparison), a vector at a time.</summary>
    public static long CountNonZero(ReadOnlySpan<float> x)
    {
        var i = 0;
        long zeros = 0;
        var w = Vector<float>.Count;
        if (Vector.IsHardwareAccelerated && x.Length >= w)
        {
            ref var r = ref MemoryMarshal.GetReference(x);
            // Each lane counts at most Length / w zeros, and the lanes' sum at most Length: no overflow.
            var acc = Vector<int>.Zero;
            for (; i <= x.Length - w; i += w)
                acc -= Vector.Equals(Vector.LoadUnsafe(ref r, (nuint)i), Vector<float>.Zero);
            zeros = Vector.Sum(acc);
        }
        for (; i < x.Length; i++)
        {
            if (x[i] == 0f)
                zeros++;
        }
        return x.Length - zeros;
    }

    /// <summary>K rounded up to a whole number of vectors.</summary>
    public static int PaddedK(int k) =>
        (k + Vector<float>.Count - 1) / Vector<float>.Count * Vector<float>.Count;

    /// <summary>wT[(c·KH + kh)·KW + kw, 0..Kp) = w[0..K), c, kh, kw] then zeros.</summary>
    public static float[] TransposeWeights(ReadOnlySpan<float> w, int k, int ckk)
    {
        var kp = PaddedK(k);
        var wT = ArrayPool<float>.Shared.Rent(kp * ckk);
        if (kp != k)
            Array.Clear(wT, 0, kp * ckk); // the padded lanes
        Transpose(w, ckk, wT, kp, k, ckk);
        return wT;
    }

    // Scratch is kept per thread and geometry: a training step convolves the same shapes every
    // iteration, so after the first step the event-driven path allocates nothing.
    [ThreadStatic]
    private static Dictionary<ConvGeometry, ForwardScratch>? t_forwardScratch;

    [ThreadStatic]
    private static Dictionary<ConvGeometry, FilterScratch>? t_filterScratch;

    /// <summary>This thread's forward scratch for <paramref name="g"/>.</summary>
    public static ForwardScratch ForwardScratchFor(in ConvGeometry g)
    {
        var d = t_forwardScratch ??= [];
        if (!d.TryGetValue(g, out var s))
            d[g] = s = new ForwardScratch(g);
        return s;
    }

    /// <summary>This thread's weight-gradient scratch for <paramref name="g"/>.</summary>
    public static FilterScratch FilterScratchFor(in ConvGeometry g)
    {
        var d = t_filterScratch ??= [];
        if (!d.TryGetValue(g, out var s))
            d[g] = s = new FilterScratch(g);
        return s;
    }

    /// <summary>Scratch of one worker for <see cref="ForwardSample"/>.</summary>
    public sealed class ForwardScratch(in ConvGeometry g)
    {
        public readonly int Words = (g.C + 63) / 64;
        public readonly ulong[] Masks = new ulong[
            (g.H + 2 * g.PadH) * (g.W + 2 * g.PadW) * ((g.C + 63) / 64)
        ];
        public float[]? Xp;
        public readonly float[] YT = new float[g.OutH * g.OutW * PaddedK(g.K)];
        public readonly int[] Taps = new int[g.C * g.KH * g.KW];
        public readonly float[] Values = Ones(g.C * g.KH * g.KW);
        public bool ValuesAreOnes = true;

        private static float[] Ones(int n)
        {
            var a = new float[n];
            a.AsSpan().Fill(1f);
            return a;
        }
    }

    /// <summary>y (one sample, [K, OH·OW]) from x (one sample, [C, H, W]) and wT ([C·KH·KW, Kp]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ForwardSample(
        ReadOnlySpan<float> x,
        float[] wT,
        Span<float> y,
        ForwardScratch sc,
        in ConvGeometry g
    )
    {
        int k = g.K,
            kp = PaddedK(k),
            hw = g.OutH * g.OutW,
            taps = g.KH * g.KW,
            C = g.C,
            wp = g.W + 2 * g.PadW,
            words = sc.Words;
        // Bit masks of the non-zero channels of each (zero-padded) pixel:
        // masks[((ih + PadH)·Wp + iw + PadW)·words + c/64] bit c%64.
        var masks = sc.Masks;
        Array.Clear(masks);
        var binary = true;
        for (var c = 0; c < C; c++)
        {
            var bit = 1UL << (c & 63);
            for (var ih = 0; ih < g.H; ih++)
            {
                var src = x.Slice((c * g.H + ih) * g.W, g.W);
                var d = ((ih + g.PadH) * wp + g.PadW) * words + (c >> 6);
                var iw = 0;
                if (Vector256.IsHardwareAccelerated)
                {
                    // Eight inputs at a time: one compare, then only the non-zero lanes are visited.
                    ref var r = ref MemoryMarshal.GetReference(src);
                    for (; iw <= g.W - 8; iw += 8)
                    {
                        var v = Vector256.LoadUnsafe(ref r, (nuint)iw);
                        var zero = Vector256.Equals(v, Vector256<float>.Zero);
                        binary &=
                            (
                                zero | Vector256.Equals(v, Vector256<float>.One)
                            ).ExtractMostSignificantBits() == 0xFF;
                        var m = ~zero.ExtractMostSignificantBits() & 0xFF;
                        while (m != 0)
                        {
                            masks[d + (iw + BitOperations.TrailingZeroCount(m)) * words] |= bit;
                            m &= m - 1;
                        }
                    }
                }
                for (; iw < g.W; iw++)
                {
                    var v = src[iw];
                    masks[d + iw * words] |= v != 0f ? bit : 0UL;
                    binary &= v == 0f || v == 1f;
                }
            }
        }
        // Non-binary input: the values too, channel-last and padded like the masks.
        float[]? xp = null;
        if (!binary)
        {
            xp = sc.Xp ??= new float[(g.H + 2 * g.PadH) * wp * C];
            for (var c = 0; c < C; c++)
            for (var ih = 0; ih < g.H; ih++)
            {
                var src = x.Slice((c * g.H + ih) * g.W, g.W);
                var d = ((ih + g.PadH) * wp + g.PadW) * C + c;
                for (var iw = 0; iw < g.W; iw++, d += C)
                    xp[d] = src[iw];
            }
        }
        var tapList = sc.Taps;
        var values = sc.Values;
        if (binary && !sc.ValuesAreOnes)
            values.AsSpan().Fill(1f);
        sc.ValuesAreOnes = binary;
        var yT = sc.YT;
        for (var oh = 0; oh < g.OutH; oh++)
        for (var ow = 0; ow < g.OutW; ow++)
        {
            var n = 0;
            for (var kh = 0; kh < g.KH; kh++)
            {
                var row = (oh * g.StrideH + kh * g.DilationH) * wp;
                for (var kw = 0; kw < g.KW; kw++)
                {
                    var pixel = row + ow * g.StrideW + kw * g.DilationW;
                    var tap = kh * g.KW + kw;
                    for (var word = 0; word < words; word++)
                    {
                        var m = masks[pixel * words + word];
                        while (m != 0)
                        {
                            var c = (word << 6) + BitOperations.TrailingZeroCount(m);
                            m &= m - 1;
                            tapList[n] = c * taps + tap;
                            if (xp is not null)
                                values[n] = xp[pixel * C + c];
                            n++;
                        }
                    }
                }
            }
            Gather(wT, kp, tapList, values, n, ref yT[(oh * g.OutW + ow) * kp]);
        }
        Transpose(yT, kp, y, hw, hw, k);
    }

    // dst[j·dstStride + i] = src[i·srcStride + j] for i < rows, j < cols: 8×8 blocks in AVX
    // registers where the CPU has AVX, the edges (and everything without AVX) in 16×16 blocks of
    // scalar moves: rows of the destination are often 4 KB apart, and an unblocked walk would map
    // every store to the same L1 set. Moves only, so every path gives the same result.
    internal static void Transpose(
        ReadOnlySpan<float> src,
        int srcStride,
        Span<float> dst,
        int dstStride,
        int rows,
        int cols
    )
    {
        if (rows <= 0 || cols <= 0)
            return;
        if ((long)(rows - 1) * srcStride + cols > src.Length)
            throw new ArgumentException(
                $"Transpose: {rows} rows of {cols} at stride {srcStride} need {(long)(rows - 1) * srcStride + cols} source elements, got {src.Length}",
                nameof(src)
            );
        if ((long)(cols - 1) * dstStride + rows > dst.Length)
            throw new ArgumentException(
                $"Transpose: {cols} rows of {rows} at stride {dstStride} need {(long)(cols - 1) * dstStride + rows} destination elements, got {dst.Length}",
                nameof(dst)
            );
        var rows8 = 0;
        var cols8 = 0;
        if (Avx.IsSupported)
        {
            rows8 = rows & ~7;
            cols8 = cols & ~7;
            ref var s0 = ref MemoryMarshal.GetReference(src);
            ref var d0 = ref MemoryMarshal.GetReference(dst);
            for (var i0 = 0; i0 < rows8; i0 += 8)
            for (var j0 = 0; j0 < cols8; j0 += 8)
                Transpose8x8(
                    ref Unsafe.Add(ref s0, (nint)i0 * srcStride + j0),
                    srcStride,
                    ref Unsafe.Add(ref d0, (nint)j0 * dstStride + i0),
                    dstStride
                );
        }
        // What the 8×8 blocks left: the columns from cols8 on for every row, then the rows from
        // rows8 on for the first cols8 columns.
        TransposeScalar(src, srcStride, dst, dstStride, 0, rows, cols8, cols);
        TransposeScalar(src, srcStride, dst, dstStride, rows8, rows, 0, cols8);
    }

    private static void TransposeScalar(
        ReadOnlySpan<float> src,
        int srcStride,
        Span<float> dst,
        int dstStride,
        int rowStart,
        int rowEnd,
        int colStart,
        int colEnd
    )
    {
        const int B = 16;
        for (var i0 = rowStart; i0 < rowEnd; i0 += B)
        {
            var i1 = Math.Min(rowEnd, i0 + B);
            for (var j0 = colStart; j0 < colEnd; j0 += B)
            {
                var j1 = Math.Min(colEnd, j0 + B);
                for (var j = j0; j < j1; j++)
                for (var i = i0; i < i1; i++)
                    dst[j * dstStride + i] = src[i * srcStride + j];
            }
        }
    }

    // One 8×8 block: unpack pairs of rows, shuffle pairs of pairs, swap 128-bit halves.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(ref float src, int srcStride, ref float dst, int dstStride)
    {
        var r0 = Vector256.LoadUnsafe(ref src);
        var r1 = Vector256.LoadUnsafe(ref src, (nuint)srcStride);
        var r2 = Vector256.LoadUnsafe(ref src, (nuint)(2 * srcStride));
        var r3 = Vector256.LoadUnsafe(ref src, (nuint)(3 * srcStride));
        var r4 = Vector256.LoadUnsafe(ref src, (nuint)(4 * srcStride));
        var r5 = Vector256.LoadUnsafe(ref src, (nuint)(5 * srcStride));
        var r6 = Vector256.LoadUnsafe(ref src, (nuint)(6 * srcStride));
        var r7 = Vector256.LoadUnsafe(ref src, (nuint)(7 * srcStride));
        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44);
        var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44);
        var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44);
        var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44);
        var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Permute2x128(u0, u4, 0x20).StoreUnsafe(ref dst);
        Avx.Permute2x128(u1, u5, 0x20).StoreUnsafe(ref dst, (nuint)dstStride);
        Avx.Permute2x128(u2, u6, 0x20).StoreUnsafe(ref dst, (nuint)(2 * dstStride));
        Avx.Permute2x128(u3, u7, 0x20).StoreUnsafe(ref dst, (nuint)(3 * dstStride));
        Avx.Permute2x128(u0, u4, 0x31).StoreUnsafe(ref dst, (nuint)(4 * dstStride));
        Avx.Permute2x128(u1, u5, 0x31).StoreUnsafe(ref dst, (nuint)(5 * dstStride));
        Avx.Permute2x128(u2, u6, 0x31).StoreUnsafe(ref dst, (nuint)(6 * dstStride));
        Avx.Permute2x128(u3, u7, 0x31).StoreUnsafe(ref dst, (nuint)(7 * dstStride));
    }

    // dst[0..Kp) = Σ_i values[i] · rows[list[i]·Kp .. +Kp), 8 vectors of accumulators at a time.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gather(
        float[] rows,
        int kp,
        int[] list,
        float[] values,
        int n,
        ref float dst,
        int offset = 0
    )
    {
        var w = Vector<float>.Count;
        ref var rb = ref MemoryMarshal.GetArrayDataReference(rows);
        ref var lb = ref MemoryMarshal.GetArrayDataReference(list);
        ref var vb = ref MemoryMarshal.GetArrayDataReference(values);
        var kb = 0;
        for (; kb + 8 * w <= kp; kb += 8 * w)
        {
            Vector<float> a0 = default,
                a1 = default,
                a2 = default,
                a3 = default,
                a4 = default,
                a5 = default,
                a6 = default,
                a7 = default;
            for (var i = 0; i < n; i++)
            {
                ref var r = ref Unsafe.Add(
                    ref rb,
                    ((nint)Unsafe.Add(ref lb, i) + offset) * kp + kb
                );
                var v = new Vector<float>(Unsafe.Add(ref vb, i));
                a0 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref r, 0), v, a0);
                a1 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref r, (nuint)w), v, a1);
                a2 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref r, (nuint)(2 * w)), v, a2);
                a3 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref r, (nuint)(3 * w)), v, a3);
                a4 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref r, (nuint)(4 * w)), v, a4);
                a5 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref r, (nuint)(5 * w)), v, a5);
                a6 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref r, (nuint)(6 * w)), v, a6);
                a7 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref r, (nuint)(7 * w)), v, a7);
            }
            ref var d = ref Unsafe.Add(ref dst, kb);
            a0.StoreUnsafe(ref d, 0);
            a1.StoreUnsafe(ref d, (nuint)w);
            a2.StoreUnsafe(ref d, (nuint)(2 * w));
            a3.StoreUnsafe(ref d, (nuint)(3 * w));
            a4.StoreUnsafe(ref d, (nuint)(4 * w));
            a5.StoreUnsafe(ref d, (nuint)(5 * w));
            a6.StoreUnsafe(ref d, (nuint)(6 * w));
            a7.StoreUnsafe(ref d, (nuint)(7 * w));
        }
        for (; kb < kp; kb += w)
        {
            Vector<float> a = default;
            for (var i = 0; i < n; i++)
            {
                ref var r = ref Unsafe.Add(
                    ref rb,
                    ((nint)Unsafe.Add(ref lb, i) + offset) * kp + kb
                );
                a = Vector.FusedMultiplyAdd(
                    Vector.LoadUnsafe(ref r),
                    new Vector<float>(Unsafe.Add(ref vb, i)),
                    a
                );
            }
            a.StoreUnsafe(ref Unsafe.Add(ref dst, kb));
        }
    }

    /// <summary>Scratch of one worker for <see cref="FilterSample"/>.</summary>
    public sealed class FilterScratch(in ConvGeometry g)
    {
        // gy transposed position-major with a zero margin of M = pad + (KK - 1)·dilation positions
        // on every side, so that with unit stride a shifted input always lands on a row (zeros
        // outside the output) and no bounds are checked per tap.
        public readonly int MarginH = g.PadH + (g.KH - 1) * g.DilationH;
        public readonly int MarginW = g.PadW + (g.KW - 1) * g.DilationW;
        public readonly float[] GyT = new float[
            (g.OutH + 2 * (g.PadH + (g.KH - 1) * g.DilationH))
                * (g.OutW + 2 * (g.PadW + (g.KW - 1) * g.DilationW))
                * PaddedK(g.K)
        ];
        public readonly int[] Rows = new int[g.H * g.W];
        public readonly int[] Cols = new int[g.H * g.W];
        public readonly int[] Bases = new int[g.H * g.W];
        public readonly float[] PixelValues = new float[g.H * g.W];
        public readonly int[] Outputs = new int[g.H * g.W];
        public readonly float[] OutputValues = new float[g.H * g.W];
    }

    /// <summary>gWT ([C·KH·KW, Kp]) += the weight gradient of one sample.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FilterSample(
        ReadOnlySpan<float> x,
        ReadOnlySpan<float> gy,
        FilterScratch sc,
        float[] gWT,
        in ConvGeometry g
    )
    {
        int k = g.K,
            kp = PaddedK(k),
            hw = g.OutH * g.OutW,
            taps = g.KH * g.KW,
            mh = sc.MarginH,
            mw = sc.MarginW,
            owp = g.OutW + 2 * mw;
        var unitStride = g.StrideH == 1 && g.StrideW == 1;
        var gyT = sc.GyT; // margins and padded lanes stay zero: only the interior 0..K is written
        if (unitStride)
        {
            for (var oh = 0; oh < g.OutH; oh++)
                Transpose(
                    gy[(oh * g.OutW)..],
                    hw,
                    gyT.AsSpan(((oh + mh) * owp + mw) * kp),
                    kp,
                    k,
                    g.OutW
                );
        }
        else
            Transpose(gy, hw, gyT, kp, k, hw);
        var rows = sc.Rows;
        var cols = sc.Cols;
        var bases = sc.Bases;
        var pv = sc.PixelValues;
        var outs = sc.Outputs;
        var ov = sc.OutputValues;
        Span<float> acc = stackalloc float[kp];
        for (var c = 0; c < g.C; c++)
        {
            // the active inputs of channel c
            var np = 0;
            for (var ih = 0; ih < g.H; ih++)
            {
                var xs = x.Slice((c * g.H + ih) * g.W, g.W);
                var iw = 0;
                if (Vector256.IsHardwareAccelerated)
                {
                    // Eight inputs at a time: one compare, then only the non-zero lanes are visited.
                    ref var r = ref MemoryMarshal.GetReference(xs);
                    for (; iw <= g.W - 8; iw += 8)
                    {
                        var m =
                            ~Vector256
                                .Equals(
                                    Vector256.LoadUnsafe(ref r, (nuint)iw),
                                    Vector256<float>.Zero
                                )
                                .ExtractMostSignificantBits() & 0xFF;
                        while (m != 0)
                        {
                            var j = iw + BitOperations.TrailingZeroCount(m);
                            m &= m - 1;
                            rows[np] = ih;
                            cols[np] = j;
                            bases[np] = (ih + mh) * owp + j + mw;
                            pv[np] = xs[j];
                            np++;
                        }
                    }
                }
                for (; iw < g.W; iw++)
                {
                    var v = xs[iw];
                    rows[np] = ih;
                    cols[np] = iw;
                    bases[np] = (ih + mh) * owp + iw + mw;
                    pv[np] = v;
                    np += v != 0f ? 1 : 0;
                }
            }
            if (np == 0)
                continue;
            for (var kh = 0; kh < g.KH; kh++)
            for (var kw = 0; kw < g.KW; kw++)
            {
                // the output positions those inputs reach through tap (kh, kw)
                var dh = g.PadH - kh * g.DilationH;
                var dw = g.PadW - kw * g.DilationW;
                if (unitStride)
                    Gather(
                        gyT,
                        kp,
                        bases,
                        pv,
                        np,
                        ref MemoryMarshal.GetReference(acc),
                        dh * owp + dw
                    );
                else
                {
                    var m = 0;
                    for (var i = 0; i < np; i++)
                    {
                        var nh = rows[i] + dh;
                        var nw = cols[i] + dw;
                        if (nh < 0 || nw < 0 || nh % g.StrideH != 0 || nw % g.StrideW != 0)
                            continue;
                        var oh = nh / g.StrideH;
                        var ow = nw / g.StrideW;
                        if (oh >= g.OutH || ow >= g.OutW)
                            continue;
                        outs[m] = oh * g.OutW + ow;
                        ov[m] = pv[i];
                        m++;
                    }
                    if (m == 0)
                        continue;
                    Gather(gyT, kp, outs, ov, m, ref MemoryMarshal.GetReference(acc));
                }
                var dst = gWT.AsSpan((c * taps + kh * g.KW + kw) * kp, kp);
                System.Numerics.Tensors.TensorPrimitives.Add(dst, acc, dst);
            }
        }
    }
}
