using SpikeEngine.Cuda.Kernels;

namespace SpikeEngine.Cuda.Tests;

/// <summary>The parsers the compile checks rely on, on fixed text (no NVRTC needed).</summary>
public sealed class PtxInspectorTests
{
    [Fact]
    public void Entries_are_parsed_with_their_parameter_classes()
    {
        const string ptx = """
            .visible .entry ew_fill_f32(
            	.param .u64 ew_fill_f32_param_0,
            	.param .f32 ew_fill_f32_param_1,
            	.param .u64 ew_fill_f32_param_2
            )
            {
            }
            .visible .entry other_fwd_f32(
            	.param .u64 .ptr .global .align 4 other_param_0,
            	.param .u32 other_param_1
            )
            """;
        var entries = PtxInspector.Entries(ptx);
        Assert.Equal(2, entries.Count);
        Assert.Equal("ew_fill_f32", entries[0].Name);
        Assert.Equal(["u64", "f32", "u64"], entries[0].ParamClasses);
        Assert.Equal(["u64", "u32"], entries[1].ParamClasses);
        Assert.DoesNotContain(
            PtxInspector.CompareWithSignatures("elementwise.cu", [entries[0]]),
            p => p.Contains("ew_fill_f32")
        );
    }

    [Fact]
    public void A_parameter_mismatch_and_an_unknown_entry_are_reported()
    {
        var wrong = new PtxEntry(KernelNames.EwFillF32, ["u64", "u32", "u64"]);
        var unknown = new PtxEntry("ew_typo_fwd_f32", ["u64"]);
        var problems = PtxInspector.CompareWithSignatures("elementwise.cu", [wrong, unknown]);
        Assert.Contains(
            problems,
            p => p.Contains("ew_fill_f32 PTX parameters (u64, u32, u64)") && p.Contains("value:f32")
        );
        Assert.Contains(problems, p => p.Contains("ew_typo_fwd_f32 is not in KernelSignatures"));
        Assert.Contains(
            problems,
            p => p.Contains("lists ew_addn_fwd_f32 but the PTX has no such entry")
        );
    }

    [Fact]
    public void Ptxas_report_is_parsed_per_function()
    {
        const string log = """
            ptxas info    : 0 bytes gmem
            ptxas info    : Compiling entry function 'neuron_fwd_f32' for 'sm_80'
            ptxas info    : Function properties for neuron_fwd_f32
                8 bytes stack frame, 4 bytes spill stores, 12 bytes spill loads
            ptxas info    : Used 26 registers, 436 bytes cmem[0]
            ptxas info    : Compiling entry function 'ew_fill_f32' for 'sm_80'
            ptxas info    : Function properties for ew_fill_f32
                0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
            ptxas info    : Used 10 registers, 372 bytes cmem[0]
            """;
        var reports = PtxInspector.ParsePtxasLog(log);
        Assert.Equal(2, reports.Count);
        Assert.Equal(new PtxasFunctionReport("neuron_fwd_f32", "sm_80", 26, 8, 4, 12), reports[0]);
        Assert.Equal(new PtxasFunctionReport("ew_fill_f32", "sm_80", 10, 0, 0, 0), reports[1]);
    }

    [Fact]
    public void Every_kernel_name_has_a_signature_in_its_family_file()
    {
        var names = typeof(KernelNames)
            .GetFields()
            .Where(f => f.IsLiteral)
            .Select(f => (string)f.GetRawConstantValue()!)
            .ToArray();
        Assert.Equal(names.Order(), KernelSignatures.All.Keys.Order());
        foreach (var name in names)
        {
            var family = name.Split('_')[0];
            var sig = KernelSignatures.Get(name);
            Assert.True(
                sig.File == family + ".cu"
                    || (family is "ew" or "sew" && sig.File == "elementwise.cu")
                    || (family == "red" && sig.File == "reduce.cu")
                    || (family == "bn" && sig.File == "norm.cu")
                    || (family == "rand" && sig.File == "random.cu"),
                $"{name} is listed under {sig.File}"
            );
            var source = KernelSources.Read(sig.File);
            Assert.True(
                source.Contains($"void {name}(", StringComparison.Ordinal)
                    || source.Contains($"_ENTRY({name},", StringComparison.Ordinal),
                $"{name} is not defined in {sig.File}"
            );
        }
    }

    [Fact]
    public void Launcher_validation_names_the_kernel_argument_and_types()
    {
        var sig = KernelSignatures.Get(KernelNames.EwFillF32);
        KernelLauncher.Validate(sig, [KernelArg.Null, 1.5f, 10L]);
        var e = Assert.Throws<ArgumentException>(() =>
            KernelLauncher.Validate(sig, [KernelArg.Null, 1, 10L])
        );
        Assert.Contains("ew_fill_f32: argument 1 (value) expects Float32, got Int32 1", e.Message);
        var count = Assert.Throws<ArgumentException>(() =>
            KernelLauncher.Validate(sig, [KernelArg.Null])
        );
        Assert.Contains("1 arguments given, the kernel takes 3 (y, value, n)", count.Message);
    }
}
