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
        P("spike_count"),
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

    private static readonly KernelParam[] Cast = [P("x"), P("y"), L("n")];

    private static readonly KernelParam[] PoolWindow =
    [
        I("H"),
        I("W"),
        I("OH"),
        I("OW"),
        I("KH"),
        I("KW"),
        I("SH"),
        I("SW"),
        I("PH"),
        I("PW"),
        L("n"),
    ];

    private static readonly KernelParam[] Adaptive = [I("H"), I("W"), I("OH"), I("OW"), L("n")];

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
            new(KernelNames.EwAddnFwdF32, "elementwise.cu", [P("xs"), I("k"), P("y"), L("n")]),
            new(KernelNames.EwFillF32, "elementwise.cu", [P("y"), F("value"), L("n")]),
            new(KernelNames.EwFillI32, "elementwise.cu", [P("y"), F("value"), L("n")]),
            new(KernelNames.EwUnaryFwdF32, "elementwise.cu", [P("x"), P("y"), I("op"), L("n")]),
            new(
                KernelNames.EwUnaryBwdF32,
                "elementwise.cu",
                [P("x"), P("y"), P("gy"), P("gx"), I("op"), L("n")]
            ),
            new(
                KernelNames.EwBinaryFwdF32,
                "elementwise.cu",
                [P("a"), P("b"), P("y"), I("op"), L("n")]
            ),
            new(
                KernelNames.EwScalarFwdF32,
                "elementwise.cu",
                [P("x"), P("y"), F("s"), I("op"), L("n")]
            ),
            new(KernelNames.EwAxpyFwdF32, "elementwise.cu", [P("x"), P("y"), F("alpha"), L("n")]),
            new(
                KernelNames.EwChannelAffineFwdF32,
                "elementwise.cu",
                [P("x"), P("scale"), P("shift"), P("y"), I("channels"), I("inner"), L("n")]
            ),
            new(KernelNames.EwCastF32Bf16, "elementwise.cu", Cast),
            new(KernelNames.EwCastBf16F32, "elementwise.cu", Cast),
            new(KernelNames.EwCastF32F16, "elementwise.cu", Cast),
            new(KernelNames.EwCastF16F32, "elementwise.cu", Cast),
            new(KernelNames.EwCastF32I32, "elementwise.cu", Cast),
            new(KernelNames.EwCastI32F32, "elementwise.cu", Cast),
            new(KernelNames.EwCastF32U8, "elementwise.cu", Cast),
            new(KernelNames.EwCastU8F32, "elementwise.cu", Cast),
            new(KernelNames.BitpackPackF32, "bitpack.cu", [P("x"), P("bits"), L("n")]),
            new(KernelNames.BitpackUnpackF32, "bitpack.cu", [P("bits"), P("y"), L("n")]),
            new(KernelNames.RedSumRowsF32, "reduce.cu", [P("x"), P("y"), I("reduce")]),
            new(
                KernelNames.RedSumColsF32,
                "reduce.cu",
                [P("x"), P("y"), I("outer"), I("reduce"), I("inner")]
            ),
            new(
                KernelNames.RedExpandFwdF32,
                "reduce.cu",
                [P("x"), P("y"), I("reduce"), I("inner"), L("n")]
            ),
            new(
                KernelNames.BnPartialSumsF32,
                "norm.cu",
                [
                    P("x"),
                    P("gy"),
                    P("center"),
                    P("partial"),
                    I("n"),
                    I("channels"),
                    I("inner"),
                    I("rows_per_split"),
                ]
            ),
            new(
                KernelNames.BnFinishSumsF32,
                "norm.cu",
                [
                    P("partial"),
                    P("mean"),
                    P("inv_std"),
                    P("running_mean"),
                    P("running_var"),
                    P("g_gamma"),
                    P("g_beta"),
                    I("splits"),
                    I("channels"),
                    L("count"),
                    F("momentum"),
                    F("eps"),
                    I("stage"),
                ]
            ),
            new(
                KernelNames.BnApplyFwdF32,
                "norm.cu",
                [
                    P("x"),
                    P("gamma"),
                    P("beta"),
                    P("mean"),
                    P("inv_std"),
                    P("y"),
                    I("channels"),
                    I("inner"),
                    L("n"),
                ]
            ),
            new(
                KernelNames.BnDataBwdF32,
                "norm.cu",
                [
                    P("x"),
                    P("gy"),
                    P("gamma"),
                    P("mean"),
                    P("inv_std"),
                    P("g_gamma"),
                    P("g_beta"),
                    P("gx"),
                    I("channels"),
                    I("inner"),
                    F("inv_count"),
                    L("n"),
                ]
            ),
            new(KernelNames.PoolMaxFwdF32, "pool.cu", [P("x"), P("y"), P("argmax"), .. PoolWindow]),
            new(
                KernelNames.PoolMaxBwdF32,
                "pool.cu",
                [P("gy"), P("argmax"), P("gx"), .. PoolWindow]
            ),
            new(KernelNames.PoolAvgFwdF32, "pool.cu", [P("x"), P("y"), .. PoolWindow]),
            new(KernelNames.PoolAvgBwdF32, "pool.cu", [P("gy"), P("gx"), .. PoolWindow]),
            new(KernelNames.PoolAdaptiveAvgFwdF32, "pool.cu", [P("x"), P("y"), .. Adaptive]),
            new(KernelNames.PoolAdaptiveAvgBwdF32, "pool.cu", [P("gy"), P("gx"), .. Adaptive]),
            new(
                KernelNames.LossCeFwdF32,
                "loss.cu",
                [P("logits"), P("labels"), P("probs"), P("row_loss"), I("K"), F("smoothing")]
            ),
            new(KernelNames.LossMeanFwdF32, "loss.cu", [P("row_loss"), P("loss"), I("n")]),
            new(
                KernelNames.LossCeBwdF32,
                "loss.cu",
                [P("probs"), P("labels"), P("g_logits"), I("K"), F("smoothing"), F("scale"), L("n")]
            ),
            new(
                KernelNames.RandFillF32,
                "random.cu",
                [P("y"), I("kind"), F("a"), F("b"), L("seed"), L("n")]
            ),
            new(
                KernelNames.OptimSgdStepF32,
                "optim.cu",
                [
                    P("params"),
                    P("grads"),
                    P("bufs"),
                    P("sizes"),
                    F("lr"),
                    F("momentum"),
                    F("weight_decay"),
                    I("nesterov"),
                    I("first_step"),
                ]
            ),
            new(
                KernelNames.OptimAdamwStepF32,
                "optim.cu",
                [
                    P("params"),
                    P("grads"),
                    P("ms"),
                    P("vs"),
                    P("sizes"),
                    F("lr"),
                    F("beta1"),
                    F("beta2"),
                    F("eps"),
                    F("weight_decay"),
                    F("bc1"),
                    F("bc2_sqrt"),
                ]
            ),
            new(KernelNames.OptimSumsqF32, "optim.cu", [P("xs"), P("sizes"), P("partial")]),
            new(KernelNames.OptimSumF64, "optim.cu", [P("partial"), P("out"), I("n")]),
            new(KernelNames.OptimNonfiniteF32, "optim.cu", [P("xs"), P("sizes"), P("first")]),
            new(KernelNames.OptimScaleF32, "optim.cu", [P("xs"), P("sizes"), F("scale")]),
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
