namespace SpikeEngine;

/// <summary>One layer of a <see cref="SavedBytesReport"/>.</summary>
/// <param name="Layer">The owner's name (a module name), or "(other)".</param>
/// <param name="Ops">The recorded ops of that owner, in order of first appearance.</param>
/// <param name="SavedBytes">Activation bytes the engine holds for backward.</param>
/// <param name="GenericBytes">Bytes the generic layout would hold for the same ops.</param>
public sealed record SavedBytesRow(string Layer, string Ops, long SavedBytes, long GenericBytes);

/// <summary>
/// What a recorded graph holds for backward, per layer and in total, beside what the generic layout
/// (PyTorch eager + SpikingJelly's fused neuron, all float32) would hold for the same ops:
/// <list type="bullet">
/// <item><c>conv2d</c>, <c>linear</c>: the input, 4 B per element;</item>
/// <item><c>batch_norm</c>: the input (the conv output), 4 B per element;</item>
/// <item><c>neuron_scan</c>: the input X (the BN output) and H, 4 B each per element;</item>
/// <item><c>bn_neuron_scan</c> (the fused unit): BN input, BN output and H, 4 B each;</item>
/// <item><c>conv_bn</c> (BN recomputing its input): the conv input and the conv output, 4 B each;</item>
/// <item><c>max_pool2d</c>: the input (4 B) and int64 indices (8 B per output element);</item>
/// <item>every other op: what the engine saves.</item>
/// </list>
/// A tensor saved by several nodes (the same storage) counts once on each side; parameters count
/// on neither side (they exist anyway). The spikes of a neuron are counted where a conv saves them.
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
        var paramStorages = new HashSet<Storage>(
            parameters.Select(p => p.Storage),
            ReferenceEqualityComparer.Instance
        );
        var engineSeen = new HashSet<Storage>(ReferenceEqualityComparer.Instance);
        var genericSeen = new HashSet<Storage>(ReferenceEqualityComparer.Instance);
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
            long saved = 0;
            foreach (var t in node.SavedTensors)
            {
                if (!paramStorages.Contains(t.Storage) && engineSeen.Add(t.Storage))
                    saved += t.Storage.Bytes;
            }
            saved += node.ExtraBytes;
            row.Saved += saved;
            row.Generic += Generic(node, saved, genericSeen);
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

    private static long Generic(Node node, long engineBytes, HashSet<Storage> seen)
    {
        long Input(int i)
        {
            var t = node.Inputs[i];
            return t is not null && seen.Add(t.Storage) ? 4 * t.Numel : 0;
        }
        var x = node.Inputs.Length > 0 ? node.Inputs[0] : null;
        return node.Name switch
        {
            "conv2d" or "linear" or "batch_norm" => Input(0),
            "neuron_scan" => Input(0) + 4 * x!.Numel,
            "bn_neuron_scan" => Input(0) + 8 * x!.Numel,
            "max_pool2d" => Input(0) + 8 * node.SavedTensors.Sum(t => t.Numel),
            "conv_bn" => Input(0) + 4 * ((Ops.ConvBnNode)node).OutputElements,
            _ => engineBytes,
        };
    }
}
