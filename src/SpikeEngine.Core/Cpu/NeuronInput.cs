using System.Buffers;
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
        var sc = scale.Span().ToArray();
        var sh = shift.Span().ToArray();
        var v0a = v0 is null ? null : v0.Span().ToArray();
        var ya = ArrayOf(y);
        var yo = (int)y.Offset;
        var dtype = h.DType;
        var storage = ((CpuStorage)h.Storage).Data;
        var ho = (int)h.Offset;
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
                    dPrev = pool.Rent(len);
                for (var tt = 0; tt < t; tt++)
                {
                    var row = (long)tt * m + s;
                    LoadState(storage, dtype, ho + (int)row, len, sp.VThreshold, hCur, dCur);
                    var inPos = (int)(row % inner);
                    var c = (int)(row / inner % channels);
                    for (var i = 0; i < len; i++)
                    {
                        float v;
                        if (tt == 0)
                            v = v0a is null ? sp.Rest : v0a[s + i];
                        else
                        {
                            var hp = hPrev[i];
                            var spike = dPrev[i] >= 0f;
                            // V = H + S (v_reset - H), or H - v_th S
                            var r = sp.VReset is { } vr ? vr - hp : -sp.VThreshold;
                            v = hp + (spike ? r : 0f * r);
                        }
                        var x = hCur[i] - v;
                        if (sp.Kind != NeuronKind.If)
                        {
                            if (sp.DecayInput)
                                x = x * (1f / k) + v + -sp.Rest;
                            else
                            {
                                var leak = v + -sp.Rest;
                                x = k == 1f ? x + leak : leak * k + x;
                            }
                        }
                        var o = x * sc[c];
                        if (sh[c] != 0f)
                            o += sh[c];
                        ya[yo + (int)row + i] = o;
                        if (++inPos == inner)
                        {
                            inPos = 0;
                            if (++c == channels)
                                c = 0;
                        }
                    }
                    (hCur, hPrev) = (hPrev, hCur);
                    (dCur, dPrev) = (dPrev, dCur);
                }
                pool.Return(hCur);
                pool.Return(dCur);
                pool.Return(hPrev);
                pool.Return(dPrev);
            }
        );
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
