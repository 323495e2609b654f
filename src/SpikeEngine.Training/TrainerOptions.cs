using SpikeEngine.Data;
using SpikeEngine.Distributed;
using SpikeEngine.Nn;

namespace SpikeEngine.Training;

/// <summary>What <see cref="Trainer.Evaluate"/> needs: batching, encoding, device and loss.</summary>
/// <param name="BatchSize">samples per batch.</param>
/// <param name="TimeSteps">time steps T of the encoded input.</param>
/// <param name="Encoder">image → spike train encoder.</param>
/// <param name="Workers">loader worker threads.</param>
/// <param name="Device">where the model runs.</param>
/// <param name="Loss">the loss reported.</param>
public sealed record EvalOptions(
    int BatchSize,
    int TimeSteps,
    ISpikeEncoder Encoder,
    int Workers,
    Device Device,
    LossKind Loss = LossKind.MeanCrossEntropy
);

/// <summary>Settings of a <see cref="Trainer"/> run (the CLI fills them from its options).</summary>
public sealed record TrainerOptions
{
    public required int Epochs { get; init; }
    public required int BatchSize { get; init; }

    /// <summary>Time steps T of the encoded input.</summary>
    public required int TimeSteps { get; init; }
    public required float LearningRate { get; init; }

    /// <summary><c>sgd</c> or <c>adamw</c>.</summary>
    public string Optimizer { get; init; } = "adamw";
    public float WeightDecay { get; init; } = 0f;
    public float Momentum { get; init; } = 0.9f;
    public bool Nesterov { get; init; }

    /// <summary><c>cosine</c> (with linear warm-up) or <c>step</c>.</summary>
    public string Schedule { get; init; } = "cosine";
    public int WarmupSteps { get; init; }

    /// <summary>Step schedule: decay every this many epochs by <see cref="StepGamma"/>.</summary>
    public int StepEpochs { get; init; } = 30;
    public float StepGamma { get; init; } = 0.1f;
    public LossKind Loss { get; init; } = LossKind.MeanCrossEntropy;
    public float LabelSmoothing { get; init; }

    /// <summary>Global gradient-norm limit; null disables clipping.</summary>
    public double? ClipGradNorm { get; init; }
    public NonFinitePolicy NonFinite { get; init; } = NonFinitePolicy.Stop;
    public ulong Seed { get; init; } = 1;

    /// <summary>Run folder: <c>checkpoints/</c>, <c>metrics.jsonl</c>, <c>curves.png</c>.</summary>
    public required string OutputDirectory { get; init; }
    public int Keep { get; init; } = 3;

    /// <summary>Extra checkpoint every this many global steps (0: only at epoch ends).</summary>
    public int CheckpointEvery { get; init; }

    /// <summary>Stop (as if killed) after this many global steps; for tests and time-boxed runs. 0: no limit.</summary>
    public long StopAfterSteps { get; init; }
    public ISpikeEncoder Encoder { get; init; } = new DirectEncoder();
    public int Workers { get; init; } = Math.Clamp(Environment.ProcessorCount - 1, 0, 2);
    public Device Device { get; init; } = Device.Cpu;

    /// <summary>
    /// Data-parallel training over this group (null: one process). Each rank reads its shard of
    /// every epoch, gradients are averaged over the ranks, metrics are summed over them, and only
    /// rank 0 writes checkpoints, metrics and plots. <see cref="BatchSize"/> is per rank.
    /// </summary>
    public IProcessGroup? ProcessGroup { get; init; }

    /// <summary>Buckets and batch-norm mode of data-parallel training.</summary>
    public DataParallelOptions DataParallel { get; init; } = new();

    /// <summary>Run configuration recorded in checkpoints (dataset, input, encoder, ...).</summary>
    public Dictionary<string, string> Run { get; init; } = [];

    /// <summary>
    /// Registry name of the model (recorded in checkpoints as <c>run.model</c>, checked on resume,
    /// the title of the plot); empty for a model built outside the registry.
    /// </summary>
    public string ModelName { get; init; } = "";

    /// <summary>
    /// The memory options the model was built with (<c>ModelOptions.Memory</c> applies them),
    /// recorded in checkpoints; null when unknown.
    /// </summary>
    public MemoryOptions? Memory { get; init; }

    /// <summary>The evaluation settings of this run.</summary>
    public EvalOptions Evaluation => new(BatchSize, TimeSteps, Encoder, Workers, Device, Loss);

    internal void Validate()
    {
        static void Positive(string option, double v)
        {
            if (!(v > 0) || !double.IsFinite(v))
                throw new ArgumentOutOfRangeException(
                    option,
                    v,
                    $"{option} must be positive, got {v}"
                );
        }
        Positive("--epochs", Epochs);
        Positive("--batch", BatchSize);
        Positive("--T", TimeSteps);
        Positive("--lr", LearningRate);
        Positive("--keep", Keep);
        if (CheckpointEvery < 0)
            throw new ArgumentOutOfRangeException(
                "--checkpoint-every",
                CheckpointEvery,
                $"--checkpoint-every must be ≥ 0, got {CheckpointEvery}"
            );
        if (ClipGradNorm is { } c)
            Positive("--clip-grad", c);
        if (!(LabelSmoothing >= 0f && LabelSmoothing < 1f))
            throw new ArgumentOutOfRangeException(
                "--label-smoothing",
                LabelSmoothing,
                $"--label-smoothing must be in [0, 1), got {LabelSmoothing}"
            );
        if (WeightDecay < 0f)
            throw new ArgumentOutOfRangeException(
                "--weight-decay",
                WeightDecay,
                $"--weight-decay must be ≥ 0, got {WeightDecay}"
            );
    }
}
