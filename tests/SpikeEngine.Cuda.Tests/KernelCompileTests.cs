using SpikeEngine.Cuda.Kernels;

namespace SpikeEngine.Cuda.Tests;

/// <summary>
/// CI's GPU-free kernel checks: every kernel file compiles with NVRTC to PTX for compute_75 and
/// to CUBIN for sm_80 and sm_90 with ptxas's report (no spills allowed), and every PTX entry's
/// parameters equal <see cref="KernelSignatures"/>.
/// </summary>
public sealed class KernelCompileTests
{
    public static TheoryData<string> Files() => [.. KernelSources.Files];

    [Fact]
    public void Embedded_sources_hold_every_kernel_file_and_header()
    {
        Assert.Equal(
            [
                "bitpack.cu",
                "elementwise.cu",
                "loss.cu",
                "neuron.cu",
                "norm.cu",
                "optim.cu",
                "pool.cu",
                "random.cu",
                "reduce.cu",
            ],
            KernelSources.Files
        );
        Assert.Contains("common.cuh", KernelSources.Headers.Keys);
        Assert.Contains("surrogate.cuh", KernelSources.Headers.Keys);
        foreach (var file in KernelSignatures.All.Values.Select(s => s.File).Distinct())
        {
            Assert.Contains(file, KernelSources.Files);
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Compiles_to_ptx_for_compute_75_and_entries_match_the_signature_table(string file)
    {
        Requirements.Nvrtc();
        var output = NvrtcCompiler.CompileEmbedded(file, "compute_75");
        var entries = PtxInspector.Entries(output.Ptx);
        Requirements.Log(
            $"{file} compute_75: {entries.Count} entries ({string.Join(", ", entries.Select(e => e.Name))})"
        );
        Assert.NotEmpty(entries);
        var problems = PtxInspector.CompareWithSignatures(file, entries);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Compiles_to_cubin_for_sm_80_and_sm_90_without_spills(string file)
    {
        Requirements.Nvrtc();
        var (major, minor) = NvrtcCompiler.Version;
        var failures = new List<string>();
        foreach (var arch in new[] { "sm_80", "sm_90" })
        {
            var output = NvrtcCompiler.CompileEmbedded(file, arch, ptxasVerbose: true);
            Assert.True(output.Image.Length > 0, $"{file} {arch}: empty CUBIN");
            var reports = PtxInspector.ParsePtxasLog(output.Log);
            var expected = KernelSignatures
                .All.Values.Where(s => s.File == file)
                .Select(s => s.Name)
                .Order()
                .ToArray();
            Assert.Equal(
                expected,
                reports.Where(r => r.Arch.Length > 0).Select(r => r.Name).Order().ToArray()
            );
            foreach (var r in reports)
            {
                Requirements.Log(
                    $"{(r.Arch.Length > 0 ? "kernel" : "device function")} {r.Name, -20} {arch} (NVRTC {major}.{minor}): {r.Registers, 3} registers, "
                        + $"{r.StackFrameBytes} B stack, {r.SpillStoreBytes} B spill stores, {r.SpillLoadBytes} B spill loads"
                );
                if (r.SpillStoreBytes > 0 || r.SpillLoadBytes > 0)
                {
                    failures.Add(
                        $"{r.Name} {arch} spills ({r.SpillStoreBytes} B stores, {r.SpillLoadBytes} B loads)"
                    );
                }
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void A_broken_kernel_yields_a_readable_error_naming_file_and_line()
    {
        Requirements.Nvrtc();
        const string source = """
            #include "common.cuh"
            extern "C" __global__ void broken_fwd_f32(float* y, long long n) {
                GRID_STRIDE_LOOP(i, n) { y[i] = undefined_thing; }
            }
            """;
        var e = Assert.Throws<KernelCompileException>(() =>
            NvrtcCompiler.Compile("broken.cu", source, KernelSources.Headers, "compute_75")
        );
        Requirements.Log(e.Message);
        Assert.Contains("kernels/broken.cu", e.Message);
        Assert.Contains("broken.cu(3)", e.Message);
        Assert.Contains("undefined_thing", e.Message);
    }

    [Fact]
    public void A_missing_include_is_reported_with_its_name()
    {
        Requirements.Nvrtc();
        const string source =
            "#include \"nowhere.cuh\"\nextern \"C\" __global__ void k_fwd_f32() {}\n";
        var e = Assert.Throws<KernelCompileException>(() =>
            NvrtcCompiler.Compile("noinclude.cu", source, KernelSources.Headers, "compute_75")
        );
        Assert.Contains("nowhere.cuh", e.Message);
    }

    [Fact]
    public void Precompiler_stamps_ptx_with_the_source_hash_and_stale_ptx_is_recognised()
    {
        Requirements.Nvrtc();
        var dir = Path.Combine(Path.GetTempPath(), $"spike-ptx-{Guid.NewGuid():N}");
        try
        {
            var written = KernelPrecompiler.WritePtxWithNvrtc(dir);
            Assert.Equal(KernelSources.Files.Count, written.Count);
            var neuron = File.ReadAllText(Path.Combine(dir, "neuron.ptx"));
            Assert.StartsWith(
                KernelPrecompiler.HashLine("neuron.cu") + "\n",
                neuron,
                StringComparison.Ordinal
            );
            Assert.Contains(".entry neuron_fwd_f32", neuron);
            Assert.NotEqual(
                KernelPrecompiler.HashLine("neuron.cu"),
                KernelPrecompiler.HashLine("bitpack.cu")
            );
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
