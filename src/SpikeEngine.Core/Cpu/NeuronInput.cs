using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace SpikeEngine.Cpu;

// The BN-neuron backward's input rebuild in one pass (IBackend.NeuronInputAffine): the charge
// equation inverted from the saved state h (T, M) and the previous step's reset, then BN's affine
// map inverted per channel. The same arithmetic, operation by operation, as the composite
// BnNeuronOps.ReconstructInput followed by ChannelAffine, which stays the reference.
public sealed partial class CpuBackend
{
    private const int NeuronInputChunk = 4096; // columns per parallel chunk (held in cache over T)

    public void NeuronInputAffine(
        in NeuronSpec spec,
        Tensor h,
        Tensor? v0,
        Tensor? w,
        Tensor scale,
        Tensor shift,
        int channels,
        int inner,
        Tensor y
    )
    {
        using var profile = OpProfile.Time(OpKind.BatchNorm);
        var sp = spec;
        int t = h.Shape[0],
            m = h.Shape[1];
        var k = sp.K;
        if (sp.Kind == NeuronKind.Plif)
        {
            Span<float> kw = [w!.Span()[0]];
            TensorPrimitives.Sigmoid(kw, kw);
            k = kw[0];
        }
        // The lambda below cannot capture spans: it reads the storages' arrays at their offsets
        // (no per-call copies; v0 is as long as a whole row of the state).
        var sc = ArrayOf(scale);
        var sco = (int)scale.Offset;
        var sh = ArrayOf(shift);
        var sho = (int)shift.Offset;
        var v0a = v0 is null ? null : ArrayOf(v0);
        var v0o = v0 is null ? 0 : (int)v0.Offset;
        var ya = ArrayOf(y);
        var yo = (int)y.Offset;
        var dtype = h.DType;
        var storage = ((CpuStorage)h.Storage).Data;
        var ho = (int)h.Offset;
        var hasReset = sp.VReset.HasValue;
        var vr = sp.VReset ?? 0f;
        var vth = sp.VThreshold;
        var rest = sp.Rest;
        var kind = sp.Kind;
        var decay = sp.DecayInput;
        Par.For(
            m,
            NeuronInputChunk,
            (s, e) =>
            {
                var len = (int)(e - s);
                var pool = ArrayPool<float>.Shared;
                float[] hCur = pool.Rent(len),
                    dCur = pool.Rent(len),
                    hPrev = pool.Rent(len),
                    dPrev = pool.Rent(len),
                    vBuf = pool.Rent(len);
                for (var tt = 0; tt < t; tt++)
                {
                    var row = (long)tt * m + s;
                    LoadState(storage, dtype, ho + (int)row, len, vth, hCur, dCur);
                    var v = vBuf.AsSpan(0, len);
                    if (tt == 0)
                    {
                        if (v0a is null)
                            v.Fill(rest);
                        else
                            v0a.AsSpan(v0o + (int)s, len).CopyTo(v);
                    }
                    else
                        ResetRow(hPrev.AsSpan(0, len), dPrev.AsSpan(0, len), hasReset, vr, vth, v);
                    // X = H - V, then the charge equation solved for X (as ReconstructInput).
                    var x = new Span<float>(ya, yo + (int)row, len);
                    TensorPrimitives.Subtract(hCur.AsSpan(0, len), v, x);
                    if (kind != NeuronKind.If)
                    {
                        if (decay)
                        {
                            TensorPrimitives.Multiply(x, 1f / k, x);
                            TensorPrimitives.Add(x, v, x);
                            TensorPrimitives.Add(x, -rest, x);
                        }
                        else
                        {
                            TensorPrimitives.Add(v, -rest, v);
                            if (k == 1f)
                                TensorPrimitives.Add(x, v, x);
                            else
                                TensorPrimitives.MultiplyAdd(v, k, x, x);
                        }
                    }
                    // BN's inverse map, one run of equal channel at a time.
                    for (var i = 0; i < len; )
                    {
                        var g = row + i;
                        var c = (int)(g / inner % channels);
                        var run = (int)Math.Min(len - i, inner - g % inner);
                        var seg = x.Slice(i, run);
                        TensorPrimitives.Multiply(seg, sc[sco + c], seg);
                        if (sh[sho + c] != 0f)
                            TensorPrimitives.Add(seg, sh[sho + c], seg);
                        i += run;
                    }
                    (hCur, hPrev) = (hPrev, hCur);
                    (dCur, dPrev) = (dPrev, dCur);
                }
                pool.Return(hCur);
                pool.Return(dCur);
                pool.Return(hPrev);
                pool.Return(dPrev);
                pool.Return(vBuf);
            }
        );
    }

    // V_{t-1} = H + S·(v_reset - H) (hard) or H + S·(-v_th) (soft), S = [d >= 0], with the
    // composite's roundings (S·r is r or 0·r).
    private static void ResetRow(
        ReadOnlySpan<float> hp,
        ReadOnlySpan<float> dp,
        bool hard,
        float vr,
        float vth,
        Span<float> v
    )
    {
        var w = Vector<float>.Count;
        var i = 0;
        var vrV = new Vector<float>(vr);
        var soft = new Vector<float>(-vth);
        for (; i <= v.Length - w; i += w)
        {
            var h = new Vector<float>(hp[i..]);
            var r = hard ? vrV - h : soft;
            var spike = Vector.GreaterThanOrEqual(new Vector<float>(dp[i..]), Vector<float>.Zero);
            (h + Vector.ConditionalSelect(spike, r, Vector<float>.Zero * r)).CopyTo(v[i..]);
        }
        for (; i < v.Length; i++)
        {
            var r = hard ? vr - hp[i] : -vth;
            v[i] = hp[i] + (dp[i] >= 0f ? r : 0f * r);
        }
    }

    // H and d = H - v_th of one row segment: a float32 h holds H; a 16-bit h holds H - v_th.
    private static void LoadState(
        Array storage,
        DType dtype,
        int offset,
        int len,
        float vth,
        float[] hOut,
        float[] dOut
    )
    {
        var hs = hOut.AsSpan(0, len);
        var ds = dOut.AsSpan(0, len);
        if (dtype == DType.Float32)
        {
            new ReadOnlySpan<float>((float[])storage, offset, len).CopyTo(hs);
            TensorPrimitives.Add(hs, -vth, ds);
            return;
        }
        var raw = new ReadOnlySpan<ushort>((ushort[])storage, offset, len);
        if (dtype == DType.Float16)
            TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<ushort, Half>(raw), ds);
        else
            Half16.FromBFloat16(raw, ds);
        TensorPrimitives.Add(ds, vth, hs);
    }
}
