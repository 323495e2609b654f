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

    /// <summary>
    /// Kernels are compiled without contracting <c>a*b + c</c> into a fused multiply-add: the CPU
    /// backend rounds the product and the sum separately, and the neuron's membrane must round
    /// alike on both backends (a one-ulp difference flips a spike at the threshold). A probe
    /// shows NVRTC's default (<c>--fmad=true</c>) would contract; with the engine's options it does
    /// not, and neuron.cu holds fewer <c>fma.rn.f32</c> than under the default (those left come
    /// from the math library's own expf/erff, written with explicit fma).
    /// </summary>
    [Fact]
    public void Kernels_compile_without_fma_contraction()
    {
        Requirements.Nvrtc();
        const string probe =
            "extern \"C\" __global__ void probe(float* y, const float* a, const float* b, const float* c) { y[0] = a[0] * b[0] + c[0]; }";
        var noHeaders = new Dictionary<string, string>();
        var defaults = NvrtcCompiler.Options.Where(o => o != "--fmad=false").ToArray();
        Assert.Contains(
            "fma.rn.f32",
            NvrtcCompiler.Compile("probe.cu", probe, noHeaders, "compute_75", options: defaults).Ptx
        );
        Assert.DoesNotContain(
            "fma.rn.f32",
            NvrtcCompiler.Compile("probe.cu", probe, noHeaders, "compute_75").Ptx
        );
        static int Fmas(string ptx) => ptx.Split("fma.rn.f32").Length - 1;
        var engine = Fmas(NvrtcCompiler.CompileEmbedded("neuron.cu", "compute_75").Ptx);
        var contracted = Fmas(
            NvrtcCompiler
                .Compile(
                    "neuron.cu",
                    KernelSources.Read("neuron.cu"),
                    KernelSources.Headers,
                    "compute_75",
                    options: defaults
                )
                .Ptx
        );
        Requirements.Log(
            $"neuron.cu fma.rn.f32: {engine} with the engine's options, {contracted} with --fmad=true"
        );
        Assert.True(
            engine < contracted,
            $"neuron.cu: {engine} fma with --fmad=false, {contracted} without"
        );
    }

    [Fact]
    public void Compile_options_are_part_of_the_source_hash()
    {
        Assert.Contains("--fmad=false", NvrtcCompiler.Options);
        var source = KernelSources.Read("neuron.cu");
        var headers = KernelSources.Headers;
        Assert.Equal(
            KernelSources.SourceHash("neuron.cu"),
            KernelSources.HashOf(source, headers, NvrtcCompiler.Options)
        );
        Assert.NotEqual(
            KernelSources.HashOf(source, headers, NvrtcCompiler.Options),
            KernelSources.HashOf(source, headers, ["--std=c++14", "-lineinfo"])
        );
    }

    /// <summary>
    /// The numbers neuron.cu and surrogate.cuh switch on are the C# enums' (one definition per
    /// language; the launchers pass <c>(int)spec.Kind</c> and <c>(int)Surrogate.Kind</c>).
    /// </summary>
    [Fact]
    public void Kernel_neuron_and_surrogate_numbers_equal_the_enums()
    {
        // #define PREFIX_NAME_PARTS 3 → NAMEPARTS: 3 (enum names upper-cased compare alike)
        static Dictionary<string, int> Defines(string text, string prefix) =>
            System
                .Text.RegularExpressions.Regex.Matches(
                    text,
                    $@"^#define {prefix}(\w+) (\d+)\s*$",
                    System.Text.RegularExpressions.RegexOptions.Multiline
                )
                .ToDictionary(
                    m => m.Groups[1].Value.Replace("_", ""),
                    m => int.Parse(m.Groups[2].Value)
                );
        var neurons = Defines(KernelSources.Read("neuron.cu"), "NEURON_");
        Assert.Equal(
            new Dictionary<string, int>
            {
                ["IF"] = (int)SpikeEngine.NeuronKind.If,
                ["LIF"] = (int)SpikeEngine.NeuronKind.Lif,
                ["PLIF"] = (int)SpikeEngine.NeuronKind.Plif,
            },
            neurons
        );
        var surrogates = Defines(KernelSources.Headers["surrogate.cuh"], "SG_");
        foreach (var kind in Enum.GetValues<SpikeEngine.SurrogateKind>())
        {
            var name = kind.ToString().ToUpperInvariant();
            Assert.True(
                surrogates.TryGetValue(name, out var value),
                $"surrogate.cuh has no SG_{name} (have {string.Join(", ", surrogates.Keys)})"
            );
            Assert.Equal((int)kind, value);
        }
    }
}
