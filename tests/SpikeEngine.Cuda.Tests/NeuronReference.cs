namespace SpikeEngine.Cuda.Tests;

/// <summary>
/// One neuron configuration of the reference loops: kind (0 IF, 1 LIF, 2 PLIF), reset, detach,
/// decay_input, 1/τ, PLIF's w, v_th, v_reset, surrogate number (SG_*) and its α.
/// </summary>
internal sealed record NeuronCase(
    int Kind,
    bool Hard,
    bool Detach,
    bool DecayInput,
    float InvTau,
    float PlifW,
    float VTh,
    float VReset,
    int Surrogate,
    float Alpha
)
{
    /// <summary>k = 1/τ (LIF), sigmoid(w) (PLIF), 0 (IF: unused).</summary>
    public float K =>
        Kind == 2 ? 1f / (1f + MathF.Exp(-PlifW))
        : Kind == 1 ? InvTau
        : 0f;

    /// <summary>The same case as the engine's <see cref="NeuronSpec"/> (PLIF's k comes from w).</summary>
    public NeuronSpec Spec(ISurrogate surrogate) =>
        new(
            (SpikeEngine.NeuronKind)Kind,
            Kind == 1 ? InvTau : 1f,
            VTh,
            Hard ? VReset : null,
            DecayInput,
            Detach,
            surrogate
        );
}

/// <summary>
/// The neuron written as plain loops from the equations of kernels/neuron.cu's header (charge,
/// fire, reset; backward in reverse time), with the saved state as the engine stores it: H in
/// float32, H − v_th rounded to nearest even (its sign kept) in bfloat16 or float16. The GPU tests
/// compare the kernels with it, and a CPU test compares it with the CPU backend, so the reference
/// is itself checked where no GPU is present.
/// </summary>
internal static class NeuronReference
{
    public static float Charge(NeuronCase c, float v, float x)
    {
        var vr = c.Hard ? c.VReset : 0f;
        if (c.Kind == 0)
            return v + x;
        return c.DecayInput ? v + (x - (v - vr)) * c.K : v - (v - vr) * c.K + x;
    }

    public static float Reset(NeuronCase c, float h, float s) =>
        c.Hard ? h * (1 - s) + c.VReset * s : h - c.VTh * s;

    public static float Surrogate(int kind, float x, float a) =>
        kind switch
        {
            0 => a * (1 / (1 + MathF.Exp(-a * x))) * (1 - 1 / (1 + MathF.Exp(-a * x))),
            1 => a / 2 / (1 + MathF.Pow(MathF.PI * a * x / 2, 2)),
            2 => MathF.Max(0, a - a * a * MathF.Abs(x)),
            3 => a / MathF.Sqrt(MathF.PI) * MathF.Exp(-a * a * x * x),
            4 => a / ((1 + MathF.Abs(x)) * (1 + MathF.Abs(x))),
            _ => MathF.Abs(x) < 1 / (2 * a) ? a : 0,
        };

    /// <summary>Spikes, H and the last membrane of x (T, M) from v0 (M).</summary>
    public static (float[] S, float[] H, float[] VLast) Forward(
        NeuronCase c,
        float[] x,
        float[] v0,
        int T,
        int M
    )
    {
        var s = new float[T * M];
        var h = new float[T * M];
        var vLast = new float[M];
        for (var i = 0; i < M; i++)
        {
            var v = v0[i];
            for (var t = 0; t < T; t++)
            {
                var idx = t * M + i;
                h[idx] = Charge(c, v, x[idx]);
                s[idx] = h[idx] >= c.VTh ? 1 : 0;
                v = Reset(c, h[idx], s[idx]);
            }
            vLast[i] = v;
        }
        return (s, h, vLast);
    }

    /// <summary>The offset of the saved state: it holds H − Offset (float32: 0, 16-bit: v_th).</summary>
    public static float Offset(NeuronCase c, DType state) => state == DType.Float32 ? 0f : c.VTh;

    /// <summary>What the engine saves for H in <paramref name="state"/>, as float32 values.</summary>
    public static float[] Saved(NeuronCase c, float[] h, DType state)
    {
        if (state == DType.Float32)
            return [.. h];
        var tiny = state == DType.Float16 ? MathF.Pow(2, -24) : MathF.Pow(2, -133);
        return
        [
            .. h.Select(v =>
            {
                var d = v - c.VTh;
                if (d < 0f)
                    d = MathF.Min(d, -tiny); // keep the sign: never round to -0
                return state == DType.Float16 ? (float)(Half)d : Bf16(d);
            }),
        ];
    }

    /// <summary>float32 → bfloat16 → float32, round to nearest even (finite values).</summary>
    public static float Bf16(float v)
    {
        var u = BitConverter.SingleToUInt32Bits(v);
        u += 0x7FFFu + ((u >> 16) & 1u);
        return BitConverter.UInt32BitsToSingle(u & 0xFFFF0000u);
    }

    /// <summary>
    /// dL/dx, dL/dv0 and dL/dw under dL/dS = gs (and no direct V gradient) from the saved state
    /// (<see cref="Saved"/>): H = saved + offset, the spike and the surrogate from D = H − v_th.
    /// </summary>
    public static (float[] GX, float[] GV0, float GW) Backward(
        NeuronCase c,
        float[] gs,
        float[] saved,
        DType state,
        float[] v0,
        int T,
        int M
    )
    {
        var off = Offset(c, state);
        var dOff = c.VTh - off;
        var gx = new float[T * M];
        var gv0 = new float[M];
        var k = c.K;
        var beta = c.Kind == 0 ? 1 : 1 - k;
        var gamma = c.Kind != 0 && c.DecayInput ? k : 1;
        var vr = c.Hard ? c.VReset : 0f;
        double gk = 0;
        for (var i = 0; i < M; i++)
        {
            float g = 0;
            for (var t = T - 1; t >= 0; t--)
            {
                var idx = t * M + i;
                var h = saved[idx] + off;
                var d = saved[idx] - dOff;
                var psi = Surrogate(c.Surrogate, d, c.Alpha);
                var s = d >= 0 ? 1f : 0f;
                var dvdh = c.Hard
                    ? (1 - s) + (c.Detach ? 0 : (c.VReset - h) * psi)
                    : 1 - (c.Detach ? 0 : c.VTh * psi);
                g = beta * g * dvdh + gs[idx] * psi;
                gx[idx] = gamma * g;
                var vPrev =
                    t > 0
                        ? Reset(c, saved[idx - M] + off, saved[idx - M] - dOff >= 0 ? 1 : 0)
                        : v0[i];
                gk += g * (c.DecayInput ? (h - vPrev) / k : -(vPrev - vr));
            }
            gv0[i] = beta * g;
        }
        return (gx, gv0, (float)(k * (1 - k) * gk));
    }

    /// <summary>
    /// Replaces x[0, i] for every fourth neuron so that H_0 lands on v_th, one float32 ulp below or
    /// one above (in turn), as this reference computes it: where a fused multiply-add or a rounded
    /// state would flip the spike.
    /// </summary>
    public static void PlantNearThreshold(NeuronCase c, float[] x, float[] v0, int M)
    {
        for (var i = 0; i < M; i += 4)
        {
            var target = (i / 4 % 3) switch
            {
                0 => c.VTh,
                1 => MathF.BitDecrement(c.VTh),
                _ => MathF.BitIncrement(c.VTh),
            };
            // H_0 is non-decreasing in x: solve in double, then walk ulp by ulp to the target.
            var vr = c.Hard ? c.VReset : 0f;
            double k = c.Kind == 0 ? 1 : c.K;
            double v = v0[i];
            double guess =
                c.Kind == 0 ? target - v
                : c.DecayInput ? (target - v) / k + (v - vr)
                : target - v + (v - vr) * k;
            var xi = (float)guess;
            var best = xi;
            for (var step = 0; step < 64 && Charge(c, v0[i], xi) != target; step++)
            {
                xi =
                    Charge(c, v0[i], xi) < target ? MathF.BitIncrement(xi) : MathF.BitDecrement(xi);
                if (
                    MathF.Abs(Charge(c, v0[i], xi) - target)
                    < MathF.Abs(Charge(c, v0[i], best) - target)
                )
                    best = xi;
            }
            x[i] = Charge(c, v0[i], xi) == target ? xi : best;
        }
    }
}
