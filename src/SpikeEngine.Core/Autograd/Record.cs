namespace SpikeEngine;

/// <summary>Attaches recorded nodes to op outputs.</summary>
public static class Autograd
{
    /// <summary>Makes <paramref name="node"/> the producer of <paramref name="output"/> and returns it.</summary>
    public static Tensor Record(Tensor output, Node node)
    {
        output.GradFn = node;
        output.OutputIndex = 0;
        output.MarkRequiresGrad();
        GraphRecorder.Observe(node);
        return output;
    }

    /// <summary>Makes <paramref name="node"/> the producer of each of <paramref name="outputs"/> (by position).</summary>
    public static void Record(ReadOnlySpan<Tensor> outputs, Node node)
    {
        for (var i = 0; i < outputs.Length; i++)
        {
            outputs[i].GradFn = node;
            outputs[i].OutputIndex = i;
            outputs[i].MarkRequiresGrad();
        }
        GraphRecorder.Observe(node);
    }

    /// <summary>True when an op over <paramref name="inputs"/> must record a node.</summary>
    public static bool IsNeeded(params Tensor?[] inputs) => Node.NeedsGrad(inputs);
}
