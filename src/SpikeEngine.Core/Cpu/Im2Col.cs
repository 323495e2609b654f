namespace SpikeEngine.Cpu;

/// <summary>
/// im2col / col2im for one NCHW sample: col is [C·KH·KW, OH·OW], each row <c>ld</c> floats apart
/// (OH·OW for one sample alone; wider when several samples' columns sit side by side).
/// </summary>
internal static class Im2Col
{
    /// <summary>True when the column matrix equals the input itself (1×1, stride 1, no padding).</summary>
    public static bool IsIdentity(in ConvGeometry g) =>
        g.KH == 1 && g.KW == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadH == 0 && g.PadW == 0;

    /// <summary>
    /// The column matrix of one sample: the sample itself for identity convolutions
    /// (<paramref name="col"/> null), else its unfolding into <paramref name="col"/>.
    /// </summary>
    public static ReadOnlySpan<float> Columns(
        ReadOnlySpan<float> x,
        float[]? col,
        in ConvGeometry g
    )
    {
        if (col is null)
            return x;
        Unfold(x, col, g);
        return col.AsSpan(0, g.C * g.KH * g.KW * g.OutH * g.OutW);
    }

    public static void Unfold(ReadOnlySpan<float> x, Span<float> col, in ConvGeometry g) =>
        Unfold(x, col, g, g.OutH * g.OutW);

    /// <summary>Unfolds one sample into the first OH·OW columns of rows <paramref name="ld"/> floats apart.</summary>
    public static void Unfold(ReadOnlySpan<float> x, Span<float> col, in ConvGeometry g, int ld)
    {
        int oh = g.OutH,
            ow = g.OutW,
            plane = g.H * g.W;
        for (var c = 0; c < g.C; c++)
        for (var kh = 0; kh < g.KH; kh++)
        for (var kw = 0; kw < g.KW; kw++)
        {
            var row = col.Slice(((c * g.KH + kh) * g.KW + kw) * ld, oh * ow);
            var xc = x.Slice(c * plane, plane);
            var dw = kw * g.DilationW - g.PadW;
            // Output columns whose input column is in range: ow0 <= o < ow1.
            var ow0 = dw >= 0 ? 0 : (-dw + g.StrideW - 1) / g.StrideW;
            var ow1 = Math.Clamp((g.W - 1 - dw) / g.StrideW + 1, 0, ow);
            if (g.W - 1 - dw < 0)
                ow1 = 0;
            for (var o = 0; o < oh; o++)
            {
                var ih = o * g.StrideH - g.PadH + kh * g.DilationH;
                var dst = row.Slice(o * ow, ow);
                if ((uint)ih >= (uint)g.H || ow0 >= ow1)
                {
                    dst.Clear();
                    continue;
                }
                dst[..ow0].Clear();
                dst[ow1..].Clear();
                var src = xc.Slice(ih * g.W, g.W);
                if (g.StrideW == 1)
                    src.Slice(ow0 + dw, ow1 - ow0).CopyTo(dst[ow0..ow1]);
                else
                    for (var q = ow0; q < ow1; q++)
                        dst[q] = src[q * g.StrideW + dw];
            }
        }
    }

    /// <summary>gx += fold(col): the adjoint of <c>Unfold</c>.</summary>
    public static void Fold(ReadOnlySpan<float> col, Span<float> gx, in ConvGeometry g) =>
        Fold(col, gx, g, g.OutH * g.OutW);

    /// <summary>gx += fold of the first OH·OW columns of rows <paramref name="ld"/> floats apart.</summary>
    public static void Fold(ReadOnlySpan<float> col, Span<float> gx, in ConvGeometry g, int ld)
    {
        int oh = g.OutH,
            ow = g.OutW,
            plane = g.H * g.W;
        for (var c = 0; c < g.C; c++)
        for (var kh = 0; kh < g.KH; kh++)
        for (var kw = 0; kw < g.KW; kw++)
        {
            var row = col.Slice(((c * g.KH + kh) * g.KW + kw) * ld, oh * ow);
            var xc = gx.Slice(c * plane, plane);
            var dw = kw * g.DilationW - g.PadW;
            var ow0 = dw >= 0 ? 0 : (-dw + g.StrideW - 1) / g.StrideW;
            var ow1 = g.W - 1 - dw < 0 ? 0 : Math.Min((g.W - 1 - dw) / g.StrideW + 1, ow);
            if (ow0 >= ow1)
                continue;
            for (var o = 0; o < oh; o++)
            {
                var ih = o * g.StrideH - g.PadH + kh * g.DilationH;
                if ((uint)ih >= (uint)g.H)
                    continue;
                var src = row.Slice(o * ow, ow);
                var dst = xc.Slice(ih * g.W, g.W);
                if (g.StrideW == 1)
                {
                    var d = dst.Slice(ow0 + dw, ow1 - ow0);
                    System.Numerics.Tensors.TensorPrimitives.Add(d, src[ow0..ow1], d);
                }
                else
                    for (var q = ow0; q < ow1; q++)
                        dst[q * g.StrideW + dw] += src[q];
            }
        }
    }

    /// <summary>
    /// <see cref="Unfold(ReadOnlySpan{float}, Span{float}, in ConvGeometry, int)"/> through a
    /// zero-padded copy of each channel plane (<paramref name="padded"/>, at least
    /// <see cref="PaddedPlane"/> floats): one branch-free gather per column row, which beats
    /// the row copies on small maps, where a row is a handful of floats.
    /// </summary>
    public static unsafe void UnfoldPadded(
        ReadOnlySpan<float> x,
        Span<float> col,
        in ConvGeometry g,
        int ld,
        Span<float> padded
    )
    {
        int oh = g.OutH,
            ow = g.OutW,
            pw = g.W + 2 * g.PadW,
            plane = g.H * g.W,
            sh = g.StrideH,
            sw = g.StrideW;
        var pn = PaddedPlane(g);
        padded[..pn].Clear();
        fixed (
            float* px = x,
                pc = col,
                pp = padded
        )
        {
            for (var c = 0; c < g.C; c++)
            {
                var xc = px + c * plane;
                for (var r = 0; r < g.H; r++)
                    Buffer.MemoryCopy(
                        xc + r * g.W,
                        pp + (r + g.PadH) * pw + g.PadW,
                        g.W * sizeof(float),
                        g.W * sizeof(float)
                    );
                for (var kh = 0; kh < g.KH; kh++)
                for (var kw = 0; kw < g.KW; kw++)
                {
                    var dst = pc + (long)((c * g.KH + kh) * g.KW + kw) * ld;
                    var src = pp + kh * g.DilationH * pw + kw * g.DilationW;
                    for (var o = 0; o < oh; o++, dst += ow, src += sh * pw)
                    for (var q = 0; q < ow; q++)
                        dst[q] = src[q * sw];
                }
            }
        }
    }

    /// <summary>
    /// gx += fold of the first OH·OW columns of rows <paramref name="ld"/> floats apart, through a
    /// zero-padded plane per channel (the adjoint of <see cref="UnfoldPadded"/>).
    /// </summary>
    public static unsafe void FoldPadded(
        ReadOnlySpan<float> col,
        Span<float> gx,
        in ConvGeometry g,
        int ld,
        Span<float> padded
    )
    {
        int oh = g.OutH,
            ow = g.OutW,
            pw = g.W + 2 * g.PadW,
            plane = g.H * g.W,
            sh = g.StrideH,
            sw = g.StrideW;
        var pn = PaddedPlane(g);
        fixed (
            float* pc = col,
                pg = gx,
                pp = padded
        )
        {
            for (var c = 0; c < g.C; c++)
            {
                new Span<float>(pp, pn).Clear();
                for (var kh = 0; kh < g.KH; kh++)
                for (var kw = 0; kw < g.KW; kw++)
                {
                    var src = pc + (long)((c * g.KH + kh) * g.KW + kw) * ld;
                    var dst = pp + kh * g.DilationH * pw + kw * g.DilationW;
                    for (var o = 0; o < oh; o++, src += ow, dst += sh * pw)
                    for (var q = 0; q < ow; q++)
                        dst[q * sw] += src[q];
                }
                var gc = pg + c * plane;
                for (var r = 0; r < g.H; r++)
                {
                    var from = pp + (r + g.PadH) * pw + g.PadW;
                    var to = gc + r * g.W;
                    for (var q = 0; q < g.W; q++)
                        to[q] += from[q];
                }
            }
        }
    }

    /// <summary>Floats of one zero-padded channel plane (with room for every window the output reads).</summary>
    public static int PaddedPlane(in ConvGeometry g)
    {
        var ph = Math.Max(
            g.H + 2 * g.PadH,
            (g.OutH - 1) * g.StrideH + (g.KH - 1) * g.DilationH + 1
        );
        var pw = g.W + 2 * g.PadW;
        return ph * pw;
    }
}
