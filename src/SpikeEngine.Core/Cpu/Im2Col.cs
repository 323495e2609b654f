namespace SpikeEngine.Cpu;

/// <summary>im2col / col2im for one NCHW sample: col is [C·KH·KW, OH·OW].</summary>
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

    public static void Unfold(ReadOnlySpan<float> x, Span<float> col, in ConvGeometry g)
    {
        int oh = g.OutH,
            ow = g.OutW,
            plane = g.H * g.W;
        for (var c = 0; c < g.C; c++)
        for (var kh = 0; kh < g.KH; kh++)
        for (var kw = 0; kw < g.KW; kw++)
        {
            var row = col.Slice(((c * g.KH + kh) * g.KW + kw) * oh * ow, oh * ow);
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

    /// <summary>gx += fold(col): the adjoint of <see cref="Unfold"/>.</summary>
    public static void Fold(ReadOnlySpan<float> col, Span<float> gx, in ConvGeometry g)
    {
        int oh = g.OutH,
            ow = g.OutW,
            plane = g.H * g.W;
        for (var c = 0; c < g.C; c++)
        for (var kh = 0; kh < g.KH; kh++)
        for (var kw = 0; kw < g.KW; kw++)
        {
            var row = col.Slice(((c * g.KH + kh) * g.KW + kw) * oh * ow, oh * ow);
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
}
