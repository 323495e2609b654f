using SpikeEngine.Nn;
using Xunit;

namespace SpikeEngine.Models.Tests;

/// <summary>
/// Each memory option against the standard float32 layout on every family at depth 18 (cifar stem,
/// T = 4, batch 2, 32 px): the forward pass is identical, the gradients of every parameter are
/// bit-identical with bit-packed spikes and within the stated tolerances otherwise.
/// </summary>
public class MemoryLayoutTests
{
    public static readonly string[] Families =
    [
        "spiking-resnet18",
        "sew-resnet18",
        "ms-resnet18",
        "danet-post-resnet18",
        "danet-pre-resnet18",
    ];

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var f in Families)
        {
            foreach (var o in new[] { "pack", "fp16", "bf16", "fuse", "recompute", "lean" })
                data.Add(f, o);
        }
        return data;
    }

    private static MemoryOptions Option(string name) =>
        name switch
        {
            "pack" => MemoryOptions.Standard with { PackSpikes = true },
            "fp16" => MemoryOptions.Standard with { StateDType = DType.Float16 },
            "bf16" => MemoryOptions.Standard with { StateDType = DType.BFloat16 },
            "fuse" => MemoryOptions.Standard with { FuseBnNeuron = true },
            "recompute" => MemoryOptions.Standard with { RecomputeConvBn = true },
            "lean" => MemoryOptions.Lean,
            _ => throw new ArgumentException(name),
        };

    // Relative L2 error of all parameter gradients together, and of the worst single parameter
    // tensor (with an absolute floor of 1e-3 of the whole gradient's RMS, so near-empty tensors
    // do not dominate). Measured maxima over the five families (total / worst tensor): fuse
    // 1.3e-7 / 4.9e-6, fp16 9.0e-5 / 6.2e-4, bf16 7.2e-4 / 4.6e-3, lean 9.0e-5 / 6.2e-4. A 16-bit
    // H is saved as H - v_th with its sign kept, so no recomputed spike differs from forward's;
    // what remains is the rounding of H itself.
    private static (double Total, double Worst) Tolerance(string option) =>
        option switch
        {
            "pack" or "recompute" => (0, 0),
            "fuse" => (1e-6, 2e-5),
            "fp16" => (5e-4, 4e-3),
            "bf16" => (3e-3, 2e-2),
            "lean" => (5e-4, 4e-3),
            _ => throw new ArgumentException(option),
        };

    internal static (
        float[] Logits,
        Dictionary<string, float[]> Grads,
        SavedBytesReport Report
    ) Step(string name, MemoryOptions memory)
    {
        var r = MinLayoutTests.Step(name, "lif", memory);
        return (r.Logits, r.Grads, r.Report);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GradientsMatchTheStandardLayout(string family, string option)
    {
        var (refLogits, refGrads, refReport) = Step(family, MemoryOptions.Standard);
        var (logits, grads, report) = Step(family, Option(option));
        Assert.Equal(refLogits, logits);
        Assert.True(
            report.SavedBytes < refReport.SavedBytes,
            $"{option} saves {report.SavedBytes} B, standard {refReport.SavedBytes} B"
        );
        var (totalTol, worstTol) = Tolerance(option);
        if (totalTol == 0)
        {
            foreach (var (p, g) in refGrads)
                Assert.True(g.SequenceEqual(grads[p]), $"{family} {option}: {p} differs");
            return;
        }
        double num = 0,
            den = 0,
            worst = 0;
        var worstName = "";
        long count = refGrads.Values.Sum(g => (long)g.Length);
        foreach (var (_, g) in refGrads)
            den += g.Sum(v => (double)v * v);
        var floor = 1e-3 * Math.Sqrt(den / count);
        foreach (var (p, g) in refGrads)
        {
            var h = grads[p];
            Assert.Equal(g.Length, h.Length);
            double e = 0,
                r = 0;
            for (var i = 0; i < g.Length; i++)
            {
                e += ((double)h[i] - g[i]) * ((double)h[i] - g[i]);
                r += (double)g[i] * g[i];
            }
            num += e;
            var rel = Math.Sqrt(e) / Math.Max(Math.Sqrt(r), floor * Math.Sqrt(g.Length));
            if (rel > worst)
                (worst, worstName) = (rel, p);
        }
        var total = Math.Sqrt(num / den);
        Console.WriteLine($"{family} {option}: total {total:E2} worst {worst:E2} ({worstName})");
        Assert.True(
            total <= totalTol,
            $"{family} {option}: gradient rel. L2 {total:E2} > {totalTol:E0}"
        );
        Assert.True(
            worst <= worstTol,
            $"{family} {option}: {worstName} rel. L2 {worst:E2} > {worstTol:E0}"
        );
    }
}
