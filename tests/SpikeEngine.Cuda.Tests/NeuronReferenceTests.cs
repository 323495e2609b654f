using SpikeEngine.Nn;

namespace SpikeEngine.Cuda.Tests;

/// <summary>
/// The plain-loop reference that the GPU tests hold the neuron kernels to is itself held to the
/// CPU backend, case for case and input for input (runs without a GPU): a wrong reference would
/// otherwise pass or fail the GPU checks for the wrong reason.
/// </summary>
public sealed class NeuronReferenceTests
{
    private static ISurrogate SurrogateOf(int kind) =>
        kind switch
        {
            0 => Surrogate.Sigmoid(4f),
            1 => Surrogate.ATan(2f),
            2 => Surrogate.PiecewiseQuadratic(1f),
            3 => Surrogate.Erf(2f),
            4 => Surrogate.SuperSpike(1f),
            _ => Surrogate.Rect(1f),
        };

    [Theory]
    [MemberData(nameof(GpuTests.NeuronCases), MemberType = typeof(GpuTests))]
    public void Reference_loop_matches_the_cpu_backend(
        string fwdName,
        int kind,
        bool hard,
        bool detach,
        bool decayInput,
        int surrogate
    )
    {
        const int T = 7,
            M = 1000;
        var c = GpuTests.CaseOf(kind, hard, detach, decayInput, surrogate);
        var state = GpuTests.StateOf(fwdName);
        var (x, v0, gs) = GpuTests.NeuronInputs(c, T, M);
        var (s, h, vLast) = NeuronReference.Forward(c, x, v0, T, M);
        var saved = NeuronReference.Saved(c, h, state);
        var (gx, gv0, gw) = NeuronReference.Backward(c, gs, saved, state, v0, T, M);

        var cpu = Backends.For(Device.Cpu);
        var spec = c.Spec(SurrogateOf(surrogate));
        using var scope = TensorScope.Begin();
        var w = kind == 2 ? Tensor.FromArray([c.PlifW], [1]) : null;
        var v0t = Tensor.FromArray(v0, [M]);
        var st = Tensor.Empty([T, M]);
        var ht = Tensor.Empty([T, M], Device.Cpu, state);
        var vt = Tensor.Empty([M]);
        cpu.NeuronForward(spec, Tensor.FromArray(x, [T, M]), v0t, w, st, ht, vt, null);
        var gxt = Tensor.Empty([T, M]);
        var gv0t = Tensor.Empty([M]);
        var gwt = kind == 2 ? Tensor.Empty([1]) : null;
        cpu.NeuronBackward(spec, ht, v0t, w, Tensor.FromArray(gs, [T, M]), null, gxt, gv0t, gwt);

        // The planted inputs make both branches occur right at the threshold.
        Assert.Contains(1f, s);
        Assert.Contains(0f, s);
        // PLIF: k = sigmoid(w) from two exp implementations, equal to an ulp or two.
        var exact = kind == 2 ? 1e-6f : 0f;
        BackendParityTests.AssertClose("spikes", s, st.ToArray(), 0f, 0f);
        BackendParityTests.AssertClose(
            $"saved state ({state.Name()})",
            saved,
            ht.ToDType(DType.Float32).ToArray(),
            exact,
            exact
        );
        BackendParityTests.AssertClose("v_last", vLast, vt.ToArray(), exact, exact);
        BackendParityTests.AssertClose("grad_x", gx, gxt.ToArray(), 1e-5f, 1e-5f);
        BackendParityTests.AssertClose("grad_v0", gv0, gv0t.ToArray(), 1e-5f, 1e-5f);
        if (gwt is not null)
            BackendParityTests.AssertClose("grad_w", [gw], gwt.ToArray(), 1e-5f, 1e-4f);
    }
}
