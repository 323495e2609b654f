using Spectre.Console;
using SpikeEngine.Training;
using SpikeEngine.Training.Metrics;

namespace SpikeEngine.Cli;

/// <summary>
/// Training feedback: a live Spectre.Console progress bar (loss, accuracy, images/s, ETA) on a
/// terminal; plain lines (every ~10% of an epoch and at every epoch end) when output is redirected.
/// </summary>
public sealed class ProgressView(TextWriter stdout, bool live)
{
    private ProgressTask? _task;
    private int _lastPlainStep = -1;

    public bool Live { get; } = live;

    public static bool TerminalAttached(TextWriter stdout) =>
        stdout == Console.Out
        && !Console.IsOutputRedirected
        && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Runs <paramref name="body"/> inside the live display (or directly when plain).</summary>
    public T Run<T>(Func<T> body)
    {
        if (!Live)
            return body();
        return AnsiConsole
            .Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(
                new TaskDescriptionColumn { Alignment = Justify.Left },
                new ProgressBarColumn(),
                new PercentageColumn(),
                new ElapsedTimeColumn(),
                new RemainingTimeColumn()
            )
            .Start(ctx =>
            {
                _task = ctx.AddTask("starting", maxValue: 1);
                return body();
            });
    }

    public void Step(StepProgress p)
    {
        var text =
            $"epoch {p.Epoch}/{p.Epochs} step {p.Step}/{p.StepsPerEpoch}  loss {p.Loss:F4}  acc {100 * p.Accuracy:F2}%  {p.ImagesPerSecond:F0} img/s  lr {p.LearningRate:G3}  ETA {Format(p.Eta)}";
        if (_task is not null)
        {
            _task.Description = Markup.Escape(text);
            _task.MaxValue = (double)p.Epochs * p.StepsPerEpoch;
            _task.Value = (double)(p.Epoch - 1) * p.StepsPerEpoch + p.Step;
            return;
        }
        int every = Math.Max(1, p.StepsPerEpoch / 10);
        if (p.Step % every == 0 || p.Step == p.StepsPerEpoch)
        {
            if (p.Step != _lastPlainStep)
                stdout.WriteLine(text);
            _lastPlainStep = p.Step;
        }
    }

    public void Epoch(EpochMetrics m)
    {
        var top5 = m.TestTop5 is { } t5 ? $"  test top-5 {100 * t5:F2}%" : "";
        var text =
            $"epoch {m.Epoch}: train loss {m.TrainLoss:F4}  train acc {100 * m.TrainAcc:F2}%  test acc {100 * m.TestAcc:F2}%{top5}  {m.ImagesPerS:F0} img/s  peak {m.PeakBytes / (1024.0 * 1024):F0} MiB  {m.EpochSeconds:F0} s"
            + (m.SkippedSteps > 0 ? $"  skipped {m.SkippedSteps}" : "");
        if (Live)
            AnsiConsole.MarkupLine(Markup.Escape(text));
        else
            stdout.WriteLine(text);
    }

    public void Message(string text)
    {
        if (Live)
            AnsiConsole.MarkupLine(Markup.Escape(text));
        else
            stdout.WriteLine(text);
    }

    private static string Format(TimeSpan t) =>
        t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss") : t.ToString(@"m\:ss");
}
