using SpikeEngine.Nn;

namespace SpikeEngine.Models;

/// <summary>Block kind, blocks per stage, stage widths and strides, stem width of a depth.</summary>
public sealed record ResNetLayout(
    int Depth,
    BlockKind Block,
    int[] Blocks,
    int[] Planes,
    int[] Strides,
    int StemWidth
)
{
    /// <summary>Depths the zoo builds: the ImageNet ResNets and the CIFAR-scale ResNet-19.</summary>
    public static IReadOnlyList<int> Depths { get; } = [18, 34, 50, 101, 152, 19];

    /// <summary>
    /// The layout of a depth: 18/34 basic, 50/101/152 bottleneck (He et al. 2016, widths
    /// 64–512); 19 is the SNN papers' CIFAR network (tdBN, TET): basic blocks 3/3/2 at widths
    /// 128/256/512 with a 128-channel stem.
    /// </summary>
    public static ResNetLayout For(int depth) =>
        depth switch
        {
            18 => new(18, BlockKind.Basic, [2, 2, 2, 2], [64, 128, 256, 512], [1, 2, 2, 2], 64),
            34 => new(34, BlockKind.Basic, [3, 4, 6, 3], [64, 128, 256, 512], [1, 2, 2, 2], 64),
            50 => new(
                50,
                BlockKind.Bottleneck,
                [3, 4, 6, 3],
                [64, 128, 256, 512],
                [1, 2, 2, 2],
                64
            ),
            101 => new(
                101,
                BlockKind.Bottleneck,
                [3, 4, 23, 3],
                [64, 128, 256, 512],
                [1, 2, 2, 2],
                64
            ),
            152 => new(
                152,
                BlockKind.Bottleneck,
                [3, 8, 36, 3],
                [64, 128, 256, 512],
                [1, 2, 2, 2],
                64
            ),
            19 => new(19, BlockKind.Basic, [3, 3, 2], [128, 256, 512], [1, 2, 2], 128),
            _ => throw new ArgumentException(
                $"ResNetLayout: no layout for depth {depth}; known depths are {string.Join(", ", Depths)}",
                nameof(depth)
            ),
        };
}
