namespace SpikeEngine.Nn;

/// <summary>
/// A densely additive stage: a chain of <see cref="DaBlock"/>s whose shortcut path is pure
/// addition from the stage input to the stage output,
/// <c>x_0 = D_0(x_in)</c>, <c>x_1 = x_0 + F_0(x_in)</c>, <c>x_{i+1} = x_i + F_i(x_i)</c>, so
/// <c>x_L = x_0 + Σ_i F_i(x_i)</c> and ∂x_L/∂x_0 = I + Σ ∂F_i/∂x_0 (the identity reaches the
/// stage input unchanged). Only the first block may change shape (its shortcut <c>D_0</c>); the
/// stage refuses a later block with a downsample, which would break the sum. Children are named
/// <c>0</c>, <c>1</c>, ... so parameters read <c>layer2.0.conv1.weight</c> as in torchvision.
/// </summary>
public sealed class DaStage : Layer
{
    private readonly DaBlock[] _blocks;

    public DaStage(params DaBlock[] blocks)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        if (blocks.Length == 0)
            throw new ArgumentException(
                "DaStage: needs at least one block, got none",
                nameof(blocks)
            );
        for (var i = 1; i < blocks.Length; i++)
        {
            if (blocks[i].Downsample is not null)
                throw new ArgumentException(
                    $"DaStage: block {i} changes shape ({blocks[i].InChannels}→{blocks[i].OutChannels} channels, stride {blocks[i].Stride}); only block 0 may",
                    nameof(blocks)
                );
            if (blocks[i].InChannels != blocks[i - 1].OutChannels)
                throw new ArgumentException(
                    $"DaStage: block {i} takes {blocks[i].InChannels} channels but block {i - 1} gives {blocks[i - 1].OutChannels}",
                    nameof(blocks)
                );
        }
        _blocks = blocks;
        for (var i = 0; i < blocks.Length; i++)
            Child(i.ToString(System.Globalization.CultureInfo.InvariantCulture), blocks[i]);
    }

    public IReadOnlyList<DaBlock> Blocks => _blocks;

    /// <summary>
    /// Blocks per recomputed segment (<see cref="Recompute"/>): a segment keeps only its input,
    /// the stage input or the stream <c>x_i</c>. 0 (the default) runs without recomputation. Set by
    /// <see cref="MemoryOptions.ApplyTo"/>.
    /// </summary>
    public int SegmentBlocks { get; set; }

    /// <summary>
    /// A recomputed segment keeps its input compact: bit-packed when it is spikes, as bytes when
    /// it is spike counts (<see cref="Recompute.CompactDType(Tensor)"/>).
    /// </summary>
    public bool PackSegmentInput { get; set; }

    public override Tensor Forward(Tensor x) // (T, N, C, H, W)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (SegmentBlocks <= 0)
            return RunBlocks(0, _blocks.Length, x);
        var y = x;
        for (var from = 0; from < _blocks.Length; from += SegmentBlocks)
        {
            var (a, b) = (from, Math.Min(_blocks.Length, from + SegmentBlocks));
            var next = Recompute.Segment(
                _blocks[a..b],
                s => RunBlocks(a, b, s),
                y,
                PackSegmentInput
            );
            if (!ReferenceEquals(y, x))
                y.Dispose();
            y = next;
        }
        return y;
    }

    // Blocks [from, to) over x: the stage input when from is 0, else the stream x_from.
    private Tensor RunBlocks(int from, int to, Tensor x)
    {
        var stream = from == 0 ? _blocks[0].Shortcut(x) : x.Reshape(x.Shape.ToArray()); // x_0
        for (var i = from; i < to; i++)
        {
            using var r = _blocks[i].Residual(i == 0 ? x : stream); // F_i(x_i); block 0 reads x_in
            var next = stream + r; // x_{i+1} = x_i + F_i(x_i)
            stream.Dispose();
            stream = next;
        }
        return stream;
    }

    public override int[] InferShape(int[] shape, ShapeTrace trace)
    {
        ArgumentNullException.ThrowIfNull(trace);
        if (SegmentBlocks <= 0 || trace.Layout is null)
            return InferBlocks(0, _blocks.Length, shape, trace);
        var s = shape;
        for (var from = 0; from < _blocks.Length; from += SegmentBlocks)
        {
            // A recomputed segment keeps its input only.
            trace.KeptSegmentInput(s, PackSegmentInput);
            s = InferBlocks(
                from,
                Math.Min(_blocks.Length, from + SegmentBlocks),
                s,
                trace.Discarding()
            );
        }
        return s;
    }

    private int[] InferBlocks(int from, int to, int[] shape, ShapeTrace trace)
    {
        var stream = from == 0 ? _blocks[0].InferShortcut(shape, trace) : shape;
        for (var i = from; i < to; i++)
        {
            var r = _blocks[i].InferResidual(i == 0 ? shape : stream, trace);
            Connect.CheckSame("DaStage", r, stream);
            stream = (int[])stream.Clone(); // the sum is a new tensor
        }
        return stream;
    }
}
