namespace SpikeEngine.Cuda.Kernels;

/// <summary>Argument types a kernel entry takes, as they appear in PTX.</summary>
public enum KernelParamType
{
    /// <summary>A device pointer (<c>.u64</c> in PTX); may be null where the kernel says optional.</summary>
    Pointer,

    /// <summary><c>int</c> (<c>.u32</c>/<c>.s32</c>).</summary>
    Int32,

    /// <summary><c>long long</c> (<c>.u64</c>/<c>.s64</c>).</summary>
    Int64,

    /// <summary><c>float</c> (<c>.f32</c>).</summary>
    Float32,
}

/// <summary>Neuron model numbers passed as <c>kind</c> (neuron.cu's <c>NEURON_*</c>).</summary>
public enum NeuronKind
{
    If = 0,
    Lif = 1,
    Plif = 2,
}

/// <summary>Surrogate numbers passed as <c>surrogate</c> (surrogate.cuh's <c>SG_*</c>).</summary>
public enum SurrogateKind
{
    Sigmoid = 0,
    ATan = 1,
    PiecewiseQuadratic = 2,
    Erf = 3,
    SuperSpike = 4,
    Rect = 5,
}

/// <summary>One kernel parameter: its name in the .cu file and its type.</summary>
public readonly record struct KernelParam(string Name, KernelParamType Type)
{
    /// <summary>The PTX type class: <c>u64</c>, <c>u32</c> or <c>f32</c>.</summary>
    public string PtxClass =>
        Type switch
        {
            KernelParamType.Pointer or KernelParamType.Int64 => "u64",
            KernelParamType.Int32 => "u32",
            _ => "f32",
        };
}

/// <summary>A kernel entry point: name, file and parameter list in order.</summary>
public sealed record KernelSignature(string Name, string File, IReadOnlyList<KernelParam> Params);

/// <summary>
/// The parameter table every launcher validates against before <c>cuLaunchKernel</c>, and that a
/// test compares with each PTX <c>.entry</c>. Keep it in the .cu files' argument order.
/// </summary>
public static class KernelSignatures
{
    private static KernelParam P(string name) => new(name, KernelParamType.Pointer);

    private static KernelParam I(string name) => new(name, KernelParamType.Int32);

    private static KernelParam L(string name) => new(name, KernelParamType.Int64);

    private static KernelParam F(string name) => new(name, KernelParamType.Float32);

    private static readonly KernelParam[] NeuronFwd =
    [
        P("x_seq"),
        P("v0"),
        P("plif_w"),
        P("s_seq"),
        P("h_seq"),
        P("v_seq"),
        P("v_last"),
        I("T"),
        I("M"),
        I("kind"),
        I("hard_reset"),
        I("decay_input"),
        F("inv_tau"),
        F("v_th"),
        F("v_reset"),
    ];

    private static readonly KernelParam[] NeuronBwd =
    [
        P("grad_s_seq"),
        P("grad_v_seq"),
        P("grad_v_last"),
        P("h_seq"),
        P("v0"),
        P("plif_w"),
        P("grad_x_seq"),
        P("grad_v0"),
        P("grad_w"),
        I("T"),
        I("M"),
        I("kind"),
        I("hard_reset"),
        I("detach_reset"),
        I("decay_input"),
        I("surrogate"),
        F("alpha"),
        F("inv_tau"),
        F("v_th"),
        F("v_reset"),
    ];

    private static readonly KernelParam[] Binary = [P("a"), P("b"), P("y"), L("n")];

    private static readonly KernelParam[] SewBwd =
    [
        P("a"),
        P("b"),
        P("gy"),
        P("ga"),
        P("gb"),
        L("n"),
    ];

    /// <summary>Every kernel entry point, by name.</summary>
    public static IReadOnlyDictionary<string, KernelSignature> All { get; } =
        new KernelSignature[]
        {
            new(KernelNames.NeuronFwdF32, "neuron.cu", NeuronFwd),
            new(KernelNames.NeuronFwdBf16, "neuron.cu", NeuronFwd),
            new(KernelNames.NeuronFwdF16, "neuron.cu", NeuronFwd),
            new(KernelNames.NeuronBwdF32, "neuron.cu", NeuronBwd),
            new(KernelNames.NeuronBwdBf16, "neuron.cu", NeuronBwd),
            new(KernelNames.NeuronBwdF16, "neuron.cu", NeuronBwd),
            new(KernelNames.EwAddFwdF32, "elementwise.cu", Binary),
            new(KernelNames.EwSubFwdF32, "elementwise.cu", Binary),
            new(KernelNames.EwMulFwdF32, "elementwise.cu", Binary),
            new(
                KernelNames.EwAffineFwdF32,
                "elementwise.cu",
                [P("x"), P("y"), F("alpha"), F("beta"), L("n")]
            ),
            new(KernelNames.EwAddnFwdF32, "elementwise.cu", [P("xs"), I("k"), P("y"), L("n")]),
            new(KernelNames.EwFillF32, "elementwise.cu", [P("y"), F("value"), L("n")]),
            new(KernelNames.SewAndFwdF32, "elementwise.cu", Binary),
            new(KernelNames.SewAndBwdF32, "elementwise.cu", SewBwd),
            new(KernelNames.SewIandFwdF32, "elementwise.cu", Binary),
            new(KernelNames.SewIandBwdF32, "elementwise.cu", SewBwd),
            new(KernelNames.BitpackPackF32, "bitpack.cu", [P("x"), P("bits"), L("n")]),
            new(KernelNames.BitpackUnpackF32, "bitpack.cu", [P("bits"), P("y"), L("n")]),
        }.ToDictionary(s => s.Name, StringComparer.Ordinal);

    /// <summary>The signature of <paramref name="name"/>; throws naming the unknown kernel.</summary>
    public static KernelSignature Get(string name) =>
        All.TryGetValue(name, out var s)
            ? s
            : throw new ArgumentException(
                $"KernelSignatures: no kernel named '{name}' (see KernelNames)",
                nameof(name)
            );
}
