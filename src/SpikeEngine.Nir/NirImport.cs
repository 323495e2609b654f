using System.Globalization;
using System.Text;
using SpikeEngine.Training;

namespace SpikeEngine.Nir;

/// <summary>NIR graph → engine model, and simulation of a graph step by step.</summary>
public static class NirImport
{
    /// <summary>Model-name prefix that names a NIR graph file where a model name is expected: <c>nir:PATH</c>.</summary>
    public const string Prefix = "nir:";

    /// <summary>
    /// The time step of a graph: <paramref name="dt"/> when given, else the <c>dt</c> this engine
    /// records in the graph's metadata on export; a graph with neither is refused.
    /// </summary>
    public static double ResolveDt(NirGraph graph, double? dt, string file)
    {
        if (dt is { } d)
            return d;
        if (graph.Metadata.TryGetValue("dt", out var m) && m is NirArray { Count: 1 } a)
            return a.Data[0];
        throw new ArgumentException(
            $"{file}: the graph records no dt in its metadata; give the time step in seconds (--dt)"
        );
    }

    /// <summary>
    /// The graph in <paramref name="path"/> as a classifier (output (T, N, K)), weights from the
    /// graph, trainable: the model <c>spike train --model nir:PATH</c> fine-tunes.
    /// </summary>
    public static NirModel Load(string path, double? dt = null)
    {
        var graph = NirFile.Read(path);
        return new NirModel(graph, ResolveDt(graph, dt, path));
    }

    /// <summary>
    /// Simulates the graph with batch 1: <paramref name="input"/> holds one row per time step
    /// (the flattened input); returns one row per step: the input, the flattened output and, with
    /// <paramref name="recordV"/>, every neuron node's membrane potential after the step (after
    /// reset), nodes in topological order. <see cref="Header"/> names the columns.
    /// </summary>
    public static List<float[]> Run(NirModel model, IReadOnlyList<float[]> input, bool recordV)
    {
        var inShape = model.InputShape();
        int width = NirOp.Numel(inShape);
        model.Eval();
        model.ResetState();
        using var noGrad = GradMode.NoGrad();
        var rows = new List<float[]>();
        for (int t = 0; t < input.Count; t++)
        {
            if (input[t].Length != width)
                throw new ArgumentException(
                    $"nir run: input row {t + 1} has {input[t].Length} values, Input node shape {NirModel.Fmt(inShape)} needs {width}"
                );
            using var scope = TensorScope.Begin();
            var x = Tensor.FromArray(input[t], [1, 1, .. inShape]);
            var y = model.Forward(x);
            var row = new List<float>(input[t]);
            row.AddRange(y.ToArray());
            if (recordV)
                foreach (var (_, v) in model.Membranes())
                    row.AddRange(v?.ToArray() ?? []);
            rows.Add([.. row]);
        }
        model.ResetState();
        return rows;
    }

    /// <summary>Column names of <see cref="Run"/>: <c>in_i</c>, <c>out_i</c>, <c>NODE.v_i</c>.</summary>
    public static string[] Header(NirModel model, bool recordV)
    {
        var cols = new List<string>();
        cols.AddRange(Enumerable.Range(0, NirOp.Numel(model.InputShape())).Select(i => $"in_{i}"));
        cols.AddRange(
            Enumerable.Range(0, NirOp.Numel(model.OutputShape())).Select(i => $"out_{i}")
        );
        if (recordV)
            foreach (var (name, size) in model.NeuronSizes())
                cols.AddRange(Enumerable.Range(0, size).Select(i => $"{name}.v_{i}"));
        return [.. cols];
    }

    /// <summary>Reads a CSV of numbers, one row per time step; a first line that is not numeric is a header and skipped.</summary>
    public static List<float[]> ReadCsv(string path)
    {
        var rows = new List<float[]>();
        int line = 0;
        foreach (var raw in File.ReadLines(path))
        {
            line++;
            var text = raw.Trim();
            if (text.Length == 0)
                continue;
            var cells = text.Split(',');
            var values = new float[cells.Length];
            bool ok = true;
            for (int i = 0; i < cells.Length && ok; i++)
                ok = float.TryParse(
                    cells[i].Trim(),
                    NumberStyles.Float,
                    CultureInfo.InvariantCulture,
                    out values[i]
                );
            if (!ok)
            {
                if (line == 1)
                    continue;
                throw new FormatException(
                    $"{path}: line {line}: expected comma-separated numbers, got '{raw}'"
                );
            }
            rows.Add(values);
        }
        return rows;
    }

    /// <summary>Writes the rows of <see cref="Run"/> with a header line, atomically.</summary>
    public static void WriteCsv(string path, string[] header, IEnumerable<float[]> rows)
    {
        var sb = new StringBuilder();
        sb.AppendLine(string.Join(',', header));
        foreach (var r in rows)
            sb.AppendLine(
                string.Join(',', r.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))
            );
        Training.Checkpoints.AtomicFile.Write(path, Encoding.UTF8.GetBytes(sb.ToString()));
    }
}
