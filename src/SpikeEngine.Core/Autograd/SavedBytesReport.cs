namespace SpikeEngine;

/// <summary>One layer of a <see cref="SavedBytesReport"/>.</summary>
/// <param name="Layer">The owner's name (a module name), or "(other)".</param>
/// <param name="Ops">The recorded ops of that owner, in order of first appearance.</param>
/// <param name="SavedBytes">Activation bytes the engine holds for backward.</param>
/// <param name="GenericBytes">Bytes the generic layout would hold for the same ops.</param>
public sealed record SavedBytesRow(string Layer, string Ops, long SavedBytes, long GenericBytes);

/// <summary>
/// What a recorded graph holds for backward, per layer and in total, beside what the generic layout
/// (PyTorch eager with a fused multi-step neuron that keeps H only, all float32) would hold for the
/// same ops. Each op states both figures itself (<see cref="Node.SavedBytesIn"/>,
/// <see cref="Node.GenericBytesIn"/>); the report sums them, counting a storage once on each side and
/// the parameters on neither (they exist anyway). For a conv–BN–neuron unit the generic layout keeps
/// 12 B per neuron element: the conv input (the previous neuron's spikes), the BN input (the conv
/// output) and H. The accounting is in <c>docs/memory.md</c>.
/// </summary>
public sealed class SavedBytesReport
{
    private SavedBytesReport(IReadOnlyList<SavedBytesRow> rows)
    {
        Rows = rows;
        SavedBytes = rows.Sum(r => r.SavedBytes);
        GenericBytes = rows.Sum(r => r.GenericBytes);
    }

    /// <summary>Per layer, in order of first appearance.</summary>
    public IReadOnlyList<SavedBytesRow> Rows { get; }

    /// <summary>Activation bytes the engine saves for backward.</summary>
    public long SavedBytes { get; }

    /// <summary>Bytes the generic layout would save.</summary>
    public long GenericBytes { get; }

    /// <summary><see cref="SavedBytes"/> / <see cref="GenericBytes"/> (0 when nothing is saved).</summary>
    public double Ratio => GenericBytes == 0 ? 0.0 : (double)SavedBytes / GenericBytes;

    /// <summary>
    /// Builds the report of the nodes observed by <paramref name="recorder"/> (call it after the
    /// forward pass, before backward releases the saved tensors). <paramref name="parameters"/> are
    /// excluded; <paramref name="ownerName"/> names an owner passed to <see cref="GraphRecorder.Enter"/>.
    /// </summary>
    public static SavedBytesReport Build(
        GraphRecorder recorder,
        IEnumerable<Tensor> parameters,
        Func<object?, string> ownerName
    )
    {
        ArgumentNullException.ThrowIfNull(recorder);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(ownerName);
        var parameterList = parameters.ToList();
        var engine = new StorageLedger(parameterList);
        var generic = new StorageLedger(parameterList);
        var order = new List<string>();
        var rows = new Dictionary<string, (List<string> Ops, long Saved, long Generic)>();
        for (var i = 0; i < recorder.Nodes.Count; i++)
        {
            var node = recorder.Nodes[i];
            var name = ownerName(recorder.Owners[i]);
            if (!rows.TryGetValue(name, out var row))
            {
                row = ([], 0, 0);
                order.Add(name);
            }
            if (!row.Ops.Contains(node.Name))
                row.Ops.Add(node.Name);
            row.Saved += node.SavedBytesIn(engine);
            row.Generic += node.GenericBytesIn(generic);
            rows[name] = row;
        }
        return new SavedBytesReport([
            .. order.Select(n => new SavedBytesRow(
                n,
                string.Join(' ', rows[n].Ops),
                rows[n].Saved,
                rows[n].Generic
            )),
        ]);
    }
}
