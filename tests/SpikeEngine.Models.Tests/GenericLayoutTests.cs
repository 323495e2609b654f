using SpikeEngine.Nn;
using Xunit;

namespace SpikeEngine.Models.Tests;

/// <summary>
/// The generic layout of <see cref="SavedBytesReport"/> against a count made by hand from the
/// ResNet-18 layout (docs/memory.md, "The generic layout"): danet-pre-resnet18 with the ImageNet
/// stem at 224 px, the configuration of the README's headline ratio at T = 1 and 2, batch 1 (every
/// term is linear in T·N).
/// </summary>
public class GenericLayoutTests
{
    /// <summary>
    /// Float32 bytes the generic layout keeps for danet-pre-resnet18 (basic blocks 2/2/2/2 at widths
    /// 64/128/256/512, strides 1/2/2/2, additive conv1×1–BN downsample on the stream), walking the
    /// shapes by hand: per neuron–conv–BN unit H, the conv input (the spikes) and the BN input (the
    /// conv output), nothing for the BN output or the neuron's input.
    /// </summary>
    internal static long HandCount(int t, int n, int size)
    {
        long Elements(int channels, int side) => (long)t * n * channels * side * side;
        var stem = (size + 2 * 3 - 7) / 2 + 1; // conv1 7×7 / 2, padding 3
        var pooled = (stem + 2 * 1 - 3) / 2 + 1; // max pool 3×3 / 2, padding 1
        long bytes =
            4 * Elements(3, size) // conv1: the image
            + 4 * Elements(64, stem) // bn1: the conv output
            + 4 * Elements(64, stem) // max pool: its input (bn1's output, the stream starts here)
            + 8 * Elements(64, pooled); // and its int64 indices
        int c = 64,
            side = pooled;
        foreach (var (planes, stride) in new[] { (64, 1), (128, 2), (256, 2), (512, 2) })
        {
            for (var b = 0; b < 2; b++)
            {
                var s = b == 0 ? stride : 1;
                var outSide = (side + 2 * 1 - 3) / s + 1; // 3×3, padding 1
                if (s != 1 || c != planes)
                    bytes += 4 * Elements(c, side) + 4 * Elements(planes, outSide); // downsample conv input (the stream) + its BN input
                // sn1: H and its spikes (conv1's input) at the block input; bn1: conv1's output.
                bytes += 8 * Elements(c, side) + 4 * Elements(planes, outSide);
                // sn2: H, spikes (conv2's input); bn2: conv2's output.
                bytes += 12 * Elements(planes, outSide);
                c = planes;
                side = outSide;
            }
        }
        bytes += 4 * Elements(512, side); // sn_out: H
        bytes += 4 * Elements(512, 1); // fc: the pooled features
        return bytes;
    }

    [Fact]
    public void HandCountOfTheHeadlineConfiguration()
    {
        // Per sample and step at 224 px: 30,308,352 B, of which 1,705,984 neuron elements × 12 B
        // = 20,471,808 are the units; the rest is the stem, the max pool, the downsample shortcuts
        // (on the real-valued stream, kept by their convs) and the classifier's input.
        Assert.Equal(30_308_352, HandCount(1, 1, 224));
        Assert.Equal(128 * 30_308_352L, HandCount(4, 32, 224));
    }

    [Theory]
    [InlineData("standard", 1)]
    [InlineData("lean", 2)]
    public void ReportEqualsTheHandCount(string layout, int t)
    {
        var memory = layout == "lean" ? MemoryOptions.Lean : MemoryOptions.Standard;
        using var model = ModelRegistry.Create(
            "danet-pre-resnet18",
            new ModelOptions
            {
                NumClasses = 10,
                Neuron = () => new LifNode(),
                Memory = memory,
                Seed = 1,
            }
        );
        using var scope = TensorScope.Begin();
        var x = Tensor.Normal([t, 1, 3, 224, 224], seed: 2);
        using var rec = GraphRecorder.Start();
        _ = model.Forward(x);
        var report = SavedBytesReport.Build(rec, model.Parameters(), _ => "net");
        Assert.Equal(HandCount(t, 1, 224), report.GenericBytes);
        Assert.True(
            report.SavedBytes < report.GenericBytes,
            $"{layout}: saved {report.SavedBytes} B, generic {report.GenericBytes} B"
        );
    }
}
