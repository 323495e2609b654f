using System.Text.Json.Serialization;
using SpikeEngine.Nn;

namespace SpikeEngine.Models;

/// <summary>
/// A row of <c>spike models</c>. <see cref="NeuronElementsPerStep"/>: elements entering spiking
/// neurons for one sample and one time step. <see cref="SavedBytesPerSampleStep"/>: bytes the
/// engine's autograd keeps for backward (float32) for one sample and one step; training
/// activation memory scales linearly in T and batch (<see cref="ActivationBytes"/>).
/// </summary>
/// <remarks>Serialises (System.Text.Json) with the snake_case keys of <c>spike models --json</c>.</remarks>
public sealed record ModelSummary(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("family")]
    [property: JsonConverter(typeof(JsonStringEnumConverter<Family>))]
        Family Family,
    [property: JsonPropertyName("depth")] int Depth,
    [property: JsonPropertyName("parameters")] long Parameters,
    [property: JsonPropertyName("neuron_elements_per_step")] long NeuronElementsPerStep,
    [property: JsonPropertyName("neuron_layers")] int NeuronLayers,
    [property: JsonPropertyName("saved_bytes_per_sample_step")] long SavedBytesPerSampleStep
)
{
    /// <summary>Estimated activation memory of a training step at <paramref name="timeSteps"/> and <paramref name="batch"/>.</summary>
    public long ActivationBytes(int timeSteps, int batch)
    {
        if (timeSteps <= 0 || batch <= 0)
            throw new ArgumentException(
                $"ModelSummary.ActivationBytes: T and batch must be positive, got T={timeSteps}, batch={batch}"
            );
        return SavedBytesPerSampleStep * timeSteps * batch;
    }
}

/// <summary>
/// Parameter, neuron and memory figures of registered models, computed by a shape-only walk:
/// models are built inside <see cref="Layer.ShapeOnly"/> (no weights allocated) and
/// <see cref="Module.InferShape"/> follows one sample through one step. No convolution runs, so
/// all models, 152 layers at 224 px included, take milliseconds.
/// </summary>
public static class ModelInfo
{
    /// <summary>Figures of the model <paramref name="name"/> at input <c>[channels, height, width]</c>.</summary>
    public static ModelSummary Compute(
        string name,
        ModelOptions options,
        (int Channels, int Height, int Width) input
    )
    {
        ArgumentNullException.ThrowIfNull(options);
        var entry = ModelRegistry.Get(name);
        if (input.Channels <= 0 || input.Height <= 0 || input.Width <= 0)
            throw new ArgumentException(
                $"ModelInfo: input must be positive CxHxW, got {input.Channels}x{input.Height}x{input.Width}",
                nameof(input)
            );
        using var shapeOnly = Layer.ShapeOnly();
        using var model = entry.Create(options with { InChannels = input.Channels });
        var trace = new ShapeTrace();
        model.InferShape([1, 1, input.Channels, input.Height, input.Width], trace);
        if (entry.Family is not { } family || entry.Depth is not { } depth)
            throw new ArgumentException(
                $"ModelInfo: '{name}' is not a model of the ResNet zoo (see ModelRegistry.Zoo)",
                nameof(name)
            );
        return new ModelSummary(
            entry.Name,
            family,
            depth,
            Layer.CountParameters(model),
            trace.NeuronElements,
            trace.NeuronLayers,
            trace.SavedBytes
        );
    }

    /// <summary>
    /// Bytes one training step of <paramref name="name"/> keeps for backward in the layout of
    /// <paramref name="options"/> (<see cref="ModelOptions.Memory"/>) at <paramref name="timeSteps"/>
    /// and <paramref name="batch"/>, predicted by a shape-only walk of <c>[T, N, C, H, W]</c> in that
    /// layout (<see cref="ShapeTrace(MemoryOptions)"/>), plus what the step's cross-entropy keeps
    /// (the probabilities, batch × classes float32, and the int32 labels): what
    /// <c>spike bench memory</c> measures as <c>saved_bytes</c>, without allocating a tensor.
    /// </summary>
    public static long PredictSavedBytes(
        string name,
        ModelOptions options,
        (int Channels, int Height, int Width) input,
        int timeSteps,
        int batch
    )
    {
        ArgumentNullException.ThrowIfNull(options);
        if (timeSteps <= 0 || batch <= 0)
            throw new ArgumentException(
                $"ModelInfo.PredictSavedBytes: T and batch must be positive, got T={timeSteps}, batch={batch}"
            );
        var entry = ModelRegistry.Get(name);
        using var shapeOnly = Layer.ShapeOnly();
        using var model = entry.Create(options with { InChannels = input.Channels });
        var trace = new ShapeTrace(options.Memory);
        model.InferShape([timeSteps, batch, input.Channels, input.Height, input.Width], trace);
        return trace.SavedBytes + 4L * batch * options.NumClasses + 4L * batch;
    }

    /// <summary>Figures of every model of the zoo (<see cref="ModelRegistry.Zoo"/>).</summary>
    public static IReadOnlyList<ModelSummary> ComputeAll(
        ModelOptions options,
        (int Channels, int Height, int Width) input
    ) => [.. ModelRegistry.Zoo.Select(e => Compute(e.Name, options, input))];
}
