namespace SpikeEngine.Nn;

/// <summary>
/// Base of the spiking neurons (IF, LIF, PLIF). <see cref="Module.Forward"/> takes multi-step input
/// <c>[T, ...]</c> (or single-step <c>[N, ...]</c> in <see cref="StepMode.Single"/>) and returns
/// spikes of the same shape; the membrane after the last step is <see cref="V"/>.
/// </summary>
public abstract class NeuronNode : Module
{
    /// <summary>Multi-step (time loop inside the op) or single-step.</summary>
    public StepMode StepMode { get; set; } = StepMode.Multi;

    /// <summary>Neurons keep the shape; the trace counts their elements and saved H.</summary>
    public override int[] InferShape(int[] shape, ShapeTrace trace)
    {
        ArgumentNullException.ThrowIfNull(trace);
        return trace.Neuron(this, shape);
    }

    /// <summary>Membrane potential after the last step (shape of one step); settable as the initial state.</summary>
    public abstract Tensor? V { get; set; }
}

/// <summary>SpikingJelly's step modes.</summary>
public enum StepMode
{
    /// <summary>Input is one time step <c>[N, ...]</c>; state carries across calls.</summary>
    Single,

    /// <summary>Input is a sequence <c>[T, N, ...]</c>; the whole time loop runs in one op.</summary>
    Multi,
}
