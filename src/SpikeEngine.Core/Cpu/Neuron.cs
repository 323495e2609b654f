using System.Numerics.Tensors;

namespace SpikeEngine.Cpu;

public sealed partial class CpuBackend
{
    public void NeuronForward(
        in NeuronSpec spec,
        Tensor x,
        Tensor? v0,
        Tensor? w,
        Tensor spikes,
        Tensor? h,
        Tensor vLast,
        Tensor? spikeCount
    )
    {
        var k = NeuronK(spec, w);
        var count = NeuronScan.Forward(
            spec,
            k,
            x.Shape[0],
            x.Shape[1],
            Buf(x),
            Opt(v0),
            Buf(spikes),
            h is null
                ? default
                : new NeuronScan.HBuf(((CpuStorage)h.Storage).Data, (int)h.Offset, h.DType),
            Buf(vLast)
        );
        if (spikeCount is not null)
            spikeCount.Span<int>()[0] = checked((int)count);
    }

    public void NeuronBackward(
        in NeuronSpec spec,
        Tensor h,
        Tensor? v0,
        Tensor? w,
        Tensor? gSpikes,
        Tensor? gvLast,
        Tensor gx,
        Tensor? gv0,
        Tensor? gw
    )
    {
        var k = NeuronK(spec, w);
        var dk = NeuronScan.Backward(
            spec,
            k,
            h.Shape[0],
            h.Shape[1],
            new NeuronScan.HBuf(((CpuStorage)h.Storage).Data, (int)h.Offset, h.DType),
            Opt(v0),
            Opt(gSpikes),
            Opt(gvLast),
            Buf(gx),
            Opt(gv0),
            needDk: gw is not null
        );
        if (gw is not null)
            gw.Span()[0] = (float)(k * (1.0 - k) * dk);
    }

    // k = 1/tau (LIF), sigmoid(w) (PLIF, computed exactly as the Sigmoid op does), 1 (IF: unused).
    private static float NeuronK(in NeuronSpec spec, Tensor? w)
    {
        if (spec.Kind != NeuronKind.Plif)
            return spec.K;
        Span<float> k = [w!.Span()[0]];
        TensorPrimitives.Sigmoid(k, k);
        return k[0];
    }

    private static NeuronScan.Buf Buf(Tensor t) => new(ArrayOf(t), (int)t.Offset);

    private static NeuronScan.Buf Opt(Tensor? t) => t is null ? default : Buf(t);
}
