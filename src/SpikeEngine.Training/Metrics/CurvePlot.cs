using ScottPlot;

namespace SpikeEngine.Training.Metrics;

/// <summary>The loss and accuracy curves of a run as a PNG (ScottPlot): loss left, accuracy right.</summary>
public static class CurvePlot
{
    /// <summary>Writes <paramref name="path"/> (atomically) from the epochs so far.</summary>
    public static void Save(string path, IReadOnlyList<EpochMetrics> epochs, string title)
    {
        if (epochs.Count == 0)
            return;
        double[] x = epochs.Select(e => (double)e.Epoch).ToArray();
        var plot = new Plot();
        var tl = plot.Add.Scatter(x, epochs.Select(e => e.TrainLoss).ToArray());
        tl.LegendText = "train loss (left)";
        var vl = plot.Add.Scatter(x, epochs.Select(e => e.TestLoss).ToArray());
        vl.LegendText = "test loss (left)";
        vl.LinePattern = LinePattern.Dashed;

        var ta = plot.Add.Scatter(x, epochs.Select(e => 100 * e.TrainAcc).ToArray());
        ta.LegendText = "train top-1 % (right)";
        ta.Axes.YAxis = plot.Axes.Right;
        var va = plot.Add.Scatter(x, epochs.Select(e => 100 * e.TestAcc).ToArray());
        va.LegendText = "test top-1 % (right)";
        va.Axes.YAxis = plot.Axes.Right;
        va.LinePattern = LinePattern.Dashed;
        if (epochs.All(e => e.TestTop5 is not null))
        {
            var t5 = plot.Add.Scatter(x, epochs.Select(e => 100 * e.TestTop5!.Value).ToArray());
            t5.LegendText = "test top-5 % (right)";
            t5.Axes.YAxis = plot.Axes.Right;
        }
        plot.Title($"{title}: epoch {epochs[^1].Epoch}, test top-1 {100 * epochs[^1].TestAcc:F2}%");
        plot.XLabel("epoch");
        plot.Axes.Left.Label.Text = "cross-entropy loss";
        plot.Axes.Right.Label.Text = "accuracy (%)";
        plot.ShowLegend(Alignment.MiddleRight);

        var bytes = plot.GetImageBytes(1000, 600, ImageFormat.Png);
        Checkpoints.AtomicFile.Write(path, bytes);
    }

    /// <summary>
    /// The loader's message when <paramref name="e"/> (or an exception inside it, such as the type
    /// initializer failures that wrap it) is a native library that could not be loaded; null
    /// for any other failure, which the caller lets through.
    /// </summary>
    public static string? MissingNativeLibrary(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is DllNotFoundException dll)
            {
                // The loader's first sentence names the library; the first "cannot open" line
                // after it names the file that is really missing (a dependency, often).
                var lines = dll.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries);
                if (lines.Length == 0)
                    return "a native library could not be loaded";
                var first = lines[0].Trim();
                var stop = first.IndexOf(". ", StringComparison.Ordinal);
                var head = stop > 0 ? first[..stop] : first.TrimEnd('.');
                var missing = lines
                    .Skip(1)
                    .Select(l => l.Trim())
                    .FirstOrDefault(l => l.Contains("cannot open", StringComparison.Ordinal));
                return missing is null ? head : $"{head}; {missing}";
            }
        }
        return null;
    }
}
