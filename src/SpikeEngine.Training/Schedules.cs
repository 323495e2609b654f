namespace SpikeEngine.Training;

/// <summary>A learning rate as a function of the global step (0-based, the step about to run).</summary>
public interface ILrSchedule
{
    /// <summary>Learning rate for step <paramref name="step"/>.</summary>
    float LearningRate(long step);

    /// <summary>Name and settings, recorded in checkpoints.</summary>
    string Describe();
}

/// <summary>
/// Linear warm-up from <c>base/warmup</c> to <c>base</c> over <see cref="WarmupSteps"/> steps,
/// then half a cosine down to <see cref="MinLr"/> at <see cref="TotalSteps"/>:
/// <c>lr(s) = base·(s+1)/W</c> for s &lt; W, else
/// <c>min + (base-min)·(1 + cos(π·(s-W)/(S-W)))/2</c>, held at min after S.
/// </summary>
public sealed class CosineSchedule : ILrSchedule
{
    public CosineSchedule(float baseLr, long totalSteps, long warmupSteps = 0, float minLr = 0f)
    {
        if (!(baseLr > 0f) || !float.IsFinite(baseLr))
            throw new ArgumentOutOfRangeException(
                nameof(baseLr),
                baseLr,
                $"cosine schedule: base learning rate must be > 0, got {baseLr}"
            );
        if (totalSteps < 1)
            throw new ArgumentOutOfRangeException(
                nameof(totalSteps),
                totalSteps,
                $"cosine schedule: total steps must be ≥ 1, got {totalSteps}"
            );
        if (warmupSteps < 0 || warmupSteps > totalSteps)
            throw new ArgumentOutOfRangeException(
                nameof(warmupSteps),
                warmupSteps,
                $"cosine schedule: warm-up steps must be in [0, {totalSteps}], got {warmupSteps}"
            );
        if (!(minLr >= 0f && minLr <= baseLr))
            throw new ArgumentOutOfRangeException(
                nameof(minLr),
                minLr,
                $"cosine schedule: min lr must be in [0, {baseLr}], got {minLr}"
            );
        (BaseLr, TotalSteps, WarmupSteps, MinLr) = (baseLr, totalSteps, warmupSteps, minLr);
    }

    public float BaseLr { get; }
    public long TotalSteps { get; }
    public long WarmupSteps { get; }
    public float MinLr { get; }

    public float LearningRate(long step)
    {
        if (step < WarmupSteps)
            return BaseLr * (step + 1) / WarmupSteps;
        if (step >= TotalSteps || TotalSteps == WarmupSteps)
            return MinLr;
        double progress = (double)(step - WarmupSteps) / (TotalSteps - WarmupSteps);
        return (float)(MinLr + (BaseLr - MinLr) * 0.5 * (1 + Math.Cos(Math.PI * progress)));
    }

    public string Describe() =>
        $"cosine(base={BaseLr}, warmup={WarmupSteps}, total={TotalSteps}, min={MinLr})";
}

/// <summary>Step decay: <c>lr(s) = base · γ^⌊s / every⌋</c>.</summary>
public sealed class StepSchedule : ILrSchedule
{
    public StepSchedule(float baseLr, long every, float gamma = 0.1f)
    {
        if (!(baseLr > 0f) || !float.IsFinite(baseLr))
            throw new ArgumentOutOfRangeException(
                nameof(baseLr),
                baseLr,
                $"step schedule: base learning rate must be > 0, got {baseLr}"
            );
        if (every < 1)
            throw new ArgumentOutOfRangeException(
                nameof(every),
                every,
                $"step schedule: step size must be ≥ 1, got {every}"
            );
        if (!(gamma > 0f && gamma <= 1f))
            throw new ArgumentOutOfRangeException(
                nameof(gamma),
                gamma,
                $"step schedule: gamma must be in (0, 1], got {gamma}"
            );
        (BaseLr, Every, Gamma) = (baseLr, every, gamma);
    }

    public float BaseLr { get; }
    public long Every { get; }
    public float Gamma { get; }

    public float LearningRate(long step) => (float)(BaseLr * Math.Pow(Gamma, step / Every));

    public string Describe() => $"step(base={BaseLr}, every={Every}, gamma={Gamma})";
}
