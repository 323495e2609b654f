namespace SpikeEngine;

/// <summary>Elementwise unary functions.</summary>
public enum UnaryOp
{
    Neg,
    Exp,
    Log,
    Relu,
    Sigmoid,
    Tanh,
    Sqrt,
    Abs,
    Square,

    /// <summary>Heaviside step with Θ(0) = 1.</summary>
    Heaviside,
}

/// <summary>Elementwise binary functions of two same-shaped tensors.</summary>
public enum BinaryOp
{
    Add,
    Sub,
    Mul,
    Div,
    Max,
    Min,
}

/// <summary>Elementwise functions of a tensor and a scalar.</summary>
public enum ScalarOp
{
    Add,
    Mul,
    Pow,

    /// <summary>s - x.</summary>
    RSub,
    Max,
    Min,
}

/// <summary>Geometry of a 2-D convolution over NCHW tensors.</summary>
public readonly record struct ConvGeometry(
    int N,
    int C,
    int H,
    int W,
    int K,
    int KH,
    int KW,
    int StrideH,
    int StrideW,
    int PadH,
    int PadW,
    int DilationH,
    int DilationW
)
{
    public int OutH => (H + 2 * PadH - DilationH * (KH - 1) - 1) / StrideH + 1;
    public int OutW => (W + 2 * PadW - DilationW * (KW - 1) - 1) / StrideW + 1;

    /// <summary>Multiply-adds of the forward pass.</summary>
    public long Macs => (long)N * K * OutH * OutW * C * KH * KW;
}

/// <summary>Geometry of a 2-D pooling window over NCHW tensors (N here is N*C planes).</summary>
public readonly record struct PoolGeometry(
    int Planes,
    int H,
    int W,
    int KH,
    int KW,
    int StrideH,
    int StrideW,
    int PadH,
    int PadW
)
{
    public int OutH => (H + 2 * PadH - KH) / StrideH + 1;
    public int OutW => (W + 2 * PadW - KW) / StrideW + 1;
}

/// <summary>
/// The closed primitive set every backend implements. Inputs are validated by the ops in Core
/// before a backend sees them (device, dtype, shapes, contiguity); backends assume valid input.
/// All tensors are float32 unless a parameter says otherwise.
/// </summary>
public interface IBackend
{
    Device Device { get; }

    // -- memory ---------------------------------------------------------------------------
    Storage Allocate(DType dtype, long length, bool zero);
    void CopyFromHost(ReadOnlySpan<float> src, Tensor dst);
    void CopyToHost(Tensor src, Span<float> dst);

    /// <summary>
    /// Copies between tensors of equal element count, converting dtype (float32 ↔ bf16/f16/uint8/int32,
    /// and float32 ↔ bit: packing sets bit i of byte i/8 for every non-zero element, unpacking gives 0 or 1).
    /// </summary>
    void Convert(Tensor src, Tensor dst);

    // -- elementwise ----------------------------------------------------------------------
    void Fill(Tensor y, float value);
    void Unary(UnaryOp op, Tensor x, Tensor y);

    /// <summary>gx = gy · dy/dx for <paramref name="op"/>, given the input x and the output y.</summary>
    void UnaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor gy, Tensor gx);
    void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y);
    void Scalar(ScalarOp op, Tensor x, float s, Tensor y);

    /// <summary>y += alpha · x.</summary>
    void Axpy(float alpha, Tensor x, Tensor y);

    /// <summary>y = Σ xs.</summary>
    void AddN(ReadOnlySpan<Tensor> xs, Tensor y);

    /// <summary>y[o,c,i] = x[o,c,i] · scale[c] + shift[c] over a [outer, C, inner] view (scale or shift may be null).</summary>
    void ChannelAffine(
        Tensor x,
        Tensor? scale,
        Tensor? shift,
        int outer,
        int channels,
        int inner,
        Tensor y
    );

    // -- reductions -----------------------------------------------------------------------
    /// <summary>y[o,i] = Σ_r x[o,r,i] over a [outer, reduce, inner] view.</summary>
    void Sum(Tensor x, int outer, int reduce, int inner, Tensor y);

    /// <summary>y[o,r,i] = x[o,i]: the adjoint of <see cref="Sum"/>.</summary>
    void Expand(Tensor x, int outer, int reduce, int inner, Tensor y);

    // -- matrix ---------------------------------------------------------------------------
    /// <summary>C = alpha · op(A) · op(B) + beta · C with row-major A (m×k), B (k×n), C (m×n).</summary>
    void Gemm(
        bool transA,
        bool transB,
        int m,
        int n,
        int k,
        float alpha,
        Tensor a,
        Tensor b,
        float beta,
        Tensor c
    );

    // -- convolution ----------------------------------------------------------------------
    void Conv2dForward(Tensor x, Tensor w, Tensor y, in ConvGeometry g);
    void Conv2dBackwardData(Tensor gy, Tensor w, Tensor gx, in ConvGeometry g);

    /// <summary>gw = conv weight gradient (overwrites gw).</summary>
    void Conv2dBackwardFilter(Tensor x, Tensor gy, Tensor gw, in ConvGeometry g);

    // -- pooling --------------------------------------------------------------------------
    /// <summary>Max pooling; <paramref name="argmax"/> (uint8) holds the winner's index within the window.</summary>
    void MaxPool2dForward(Tensor x, Tensor y, Tensor argmax, in PoolGeometry g);
    void MaxPool2dBackward(Tensor gy, Tensor argmax, Tensor gx, in PoolGeometry g);

    /// <summary>Average pooling, padding counted in the divisor (count_include_pad).</summary>
    void AvgPool2dForward(Tensor x, Tensor y, in PoolGeometry g);
    void AvgPool2dBackward(Tensor gy, Tensor gx, in PoolGeometry g);
    void AdaptiveAvgPool2dForward(Tensor x, Tensor y, int planes, int h, int w, int outH, int outW);
    void AdaptiveAvgPool2dBackward(
        Tensor gy,
        Tensor gx,
        int planes,
        int h,
        int w,
        int outH,
        int outW
    );

    // -- normalisation --------------------------------------------------------------------
    /// <summary>
    /// Batch norm in training mode over a [N, C, inner] view: batch statistics, normalise, affine;
    /// writes the batch mean and inverse std, and updates the running stats with momentum
    /// (running variance unbiased) when they are given. y may be x itself (normalised in place),
    /// never overlap it otherwise.
    /// </summary>
    void BatchNormTrain(
        Tensor x,
        Tensor gamma,
        Tensor beta,
        Tensor y,
        Tensor mean,
        Tensor invStd,
        Tensor? runningMean,
        Tensor? runningVar,
        int n,
        int channels,
        int inner,
        float momentum,
        float eps
    );

    /// <summary>
    /// The normalisation step of <see cref="BatchNormTrain"/> with the batch statistics given
    /// (mean, inverse std: what an earlier <see cref="BatchNormTrain"/> of the same x wrote):
    /// y = x·(γ·invStd) + (β − mean·γ·invStd), the same arithmetic, so the same x gives the same y
    /// bit for bit. No running statistics are touched. y may be x itself, never overlap it otherwise.
    /// </summary>
    void BatchNormApply(
        Tensor x,
        Tensor gamma,
        Tensor beta,
        Tensor mean,
        Tensor invStd,
        Tensor y,
        int n,
        int channels,
        int inner
    );

    /// <summary>
    /// gx, gγ, gβ of batch norm in training mode given x, gy, γ and the batch statistics. gx may
    /// be gy itself (the gradient is then written over the incoming one), never overlap it
    /// otherwise.
    /// </summary>
    void BatchNormBackward(
        Tensor x,
        Tensor gy,
        Tensor gamma,
        Tensor mean,
        Tensor invStd,
        Tensor gx,
        Tensor gGamma,
        Tensor gBeta,
        int n,
        int channels,
        int inner
    );

    // -- losses ---------------------------------------------------------------------------
    /// <summary>
    /// Mean cross-entropy of logits [N, K] against int32 labels [N] with label smoothing ε:
    /// writes softmax probabilities [N, K] and the scalar loss [1].
    /// </summary>
    void CrossEntropyForward(
        Tensor logits,
        Tensor labels,
        float smoothing,
        Tensor probs,
        Tensor loss
    );

    /// <summary>glogits = gloss · (p - q) / N, with q the smoothed one-hot target.</summary>
    void CrossEntropyBackward(
        Tensor probs,
        Tensor labels,
        float smoothing,
        float gradLoss,
        Tensor gLogits
    );

    // -- random ---------------------------------------------------------------------------
    /// <summary>Counter-based random fill: the value at index i depends only on (seed, i).</summary>
    void FillRandom(Tensor y, RandomKind kind, float a, float b, ulong seed);

    // -- neurons --------------------------------------------------------------------------
    /// <summary>
    /// Fused IF/LIF/PLIF scan over time (docs/neurons.md, "Equations"): x (T, M); v0 (M) or null for
    /// the rest state <see cref="NeuronSpec.Rest"/>; w (1) PLIF's weight (k = sigmoid(w)), else null.
    /// Writes spikes (T, M), the saved state h (T, M; null: not kept), vLast (M), and the number of
    /// spikes into spikeCount (int32 [1]) when given. A float32 h holds the pre-spike membrane H; a
    /// bfloat16 or float16 h holds H − v_th, rounded so that it keeps its sign (a negative value that
    /// would round to −0 is stored as the smallest negative subnormal): the spikes that
    /// <see cref="NeuronBackward"/> recomputes from it are exactly the forward's, and the 16 bits
    /// are most precise next to the threshold, where the surrogate peaks. spikeCount must be null
    /// when T·M exceeds <see cref="int.MaxValue"/> (<see cref="NeuronSpec.CheckSpikeCount"/>).
    /// </summary>
    void NeuronForward(
        in NeuronSpec spec,
        Tensor x,
        Tensor? v0,
        Tensor? w,
        Tensor spikes,
        Tensor? h,
        Tensor vLast,
        Tensor? spikeCount
    );

    /// <summary>
    /// Reverse-time recurrence of <see cref="NeuronForward"/> from its saved state h (T, M): given
    /// gSpikes (T, M) and gvLast (M) (either may be null for zero), writes gx (T, M), gv0 (M)
    /// when given, and gw = dL/dw (1) for PLIF when given (overwritten). v0 and w are the
    /// forward's (PLIF needs V_{t-1} and k).
    /// </summary>
    void NeuronBackward(
        in NeuronSpec spec,
        Tensor h,
        Tensor? v0,
        Tensor? w,
        Tensor? gSpikes,
        Tensor? gvLast,
        Tensor gx,
        Tensor? gv0,
        Tensor? gw
    );

    /// <summary>
    /// The input X (T, M) of a <see cref="NeuronForward"/> scan rebuilt from its saved state h, v0
    /// and w (the charge equation inverted, <c>V_{t-1} = reset(H_{t-1})</c>), then mapped per
    /// channel over [T·M/(C·inner), C, inner]: y = X·scale[c] + shift[c]. The batch-norm → neuron
    /// op's backward gets BN's input this way. The default runs the composite of elementwise
    /// primitives; a backend may fuse it into one pass with the same arithmetic.
    /// </summary>
    void NeuronInputAffine(
        in NeuronSpec spec,
        Tensor h,
        Tensor? v0,
        Tensor? w,
        Tensor scale,
        Tensor shift,
        int channels,
        int inner,
        Tensor y
    )
    {
        using var x = BnNeuronOps.ReconstructInput(spec, h, v0, w);
        ChannelAffine(
            x,
            scale,
            shift,
            (int)(x.Numel / ((long)channels * inner)),
            channels,
            inner,
            y
        );
    }

    // -- optimizers and gradient reductions (over many tensors at once) ---------------------
    /// <summary>
    /// SGD (<c>torch.optim.SGD</c>) over every (parameter, gradient[, momentum buffer]):
    /// <c>d = g + wd·p</c>; with momentum μ: <c>b = firstStep ? d : μ·b + d</c>,
    /// <c>d = nesterov ? d + μ·b : b</c>; <c>p -= lr·d</c>. <paramref name="momentumBuffers"/>
    /// may be null when μ = 0. Lists are index-aligned; each entry's element counts agree.
    /// </summary>
    void SgdStep(
        IReadOnlyList<Tensor> parameters,
        IReadOnlyList<Tensor> grads,
        IReadOnlyList<Tensor>? momentumBuffers,
        float lr,
        float momentum,
        float weightDecay,
        bool nesterov,
        bool firstStep
    );

    /// <summary>
    /// AdamW (Loshchilov and Hutter, ICLR 2019) over every (parameter, gradient, m, v), step
    /// <paramref name="step"/> counted from 1: <c>p *= 1 - lr·wd</c>; <c>m = β1·m + (1-β1)·g</c>;
    /// <c>v = β2·v + (1-β2)·g²</c>; <c>p -= lr·(m / (1-β1^t)) / (√(v / (1-β2^t)) + ε)</c>.
    /// </summary>
    void AdamWStep(
        IReadOnlyList<Tensor> parameters,
        IReadOnlyList<Tensor> grads,
        IReadOnlyList<Tensor> m,
        IReadOnlyList<Tensor> v,
        float lr,
        float beta1,
        float beta2,
        float eps,
        float weightDecay,
        long step
    );

    /// <summary>Σ over the tensors of Σ x², accumulated in float64 (the global gradient norm is its root).</summary>
    double SumOfSquares(IReadOnlyList<Tensor> xs);

    /// <summary>The first NaN or ±Inf in list order (tensor index, element index, value), or null.</summary>
    NonFiniteElement? FindNonFinite(IReadOnlyList<Tensor> xs);

    /// <summary>x *= scale for every tensor of the list (gradient clipping).</summary>
    void ScaleInPlace(IReadOnlyList<Tensor> xs, float scale);
}

/// <summary>A non-finite element found by <see cref="IBackend.FindNonFinite"/>: which tensor of the list, which element, its value.</summary>
public readonly record struct NonFiniteElement(int Tensor, long Index, float Value);

/// <summary>Distributions for <see cref="IBackend.FillRandom"/>.</summary>
public enum RandomKind
{
    /// <summary>Uniform on [a, b).</summary>
    Uniform,

    /// <summary>Normal with mean a and standard deviation b.</summary>
    Normal,

    /// <summary>1 with probability a, else 0.</summary>
    Bernoulli,
}

/// <summary>Registry of backends by device kind; the CUDA backend registers itself here.</summary>
public static class Backends
{
    private static readonly Dictionary<DeviceKind, Func<int, IBackend>> s_factories = new()
    {
        [DeviceKind.Cpu] = _ => Cpu.CpuBackend.Instance,
    };
    private static readonly Dictionary<Device, IBackend> s_instances = [];

    /// <summary>Registers the factory for a device kind (called by the CUDA layer).</summary>
    public static void Register(DeviceKind kind, Func<int, IBackend> factory)
    {
        lock (s_instances)
            s_factories[kind] = factory;
    }

    /// <summary>True when a backend for <paramref name="kind"/> is registered.</summary>
    public static bool IsRegistered(DeviceKind kind)
    {
        lock (s_instances)
            return s_factories.ContainsKey(kind);
    }

    /// <summary>The backend of <paramref name="device"/>.</summary>
    public static IBackend For(Device device)
    {
        lock (s_instances)
        {
            if (s_instances.TryGetValue(device, out var b))
                return b;
            if (!s_factories.TryGetValue(device.Kind, out var f))
                throw new ArgumentException(
                    $"device {device}: no backend is registered for {device.Kind}; reference SpikeEngine.Cuda and call CudaBackend.Register()"
                );
            return s_instances[device] = f(device.Index);
        }
    }
}
