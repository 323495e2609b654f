using Xunit;

namespace SpikeEngine.Nn.Tests.Neurons;

/// <summary>
/// Hand-computed 3-step, 2-neuron cases, one per kind, through the public modules. All use
/// v_th = 1, the piecewise-quadratic surrogate with α = 1 (ψ(x) = max(0, 1 - |x|), x = H - 1)
/// and the loss L = Σ S + 0.5 Σ V_T, so ∂L/∂S_t = 1 and ∂L/∂V_T = 0.5.
/// </summary>
public class KnownValueTests
{
    private const double Tol = 1e-6;

    [Fact]
    public void IfHardReset()
    {
        // IF, v_reset = 0: H = V + X; V = H(1 - S).  x = [[0.6, 1.2], [0.6, -0.5], [0.3, 0.4]], V_0 = 0.
        // neuron 0: H = 0.6 (S 0, V 0.6) → 1.2 (S 1, V 0) → 0.3 (S 0, V 0.3)
        // neuron 1: H = 1.2 (S 1, V 0) → -0.5 (S 0, V -0.5) → -0.1 (S 0, V -0.1)
        // Backward (β = γ = 1), dV/dH = (1 - S) + (0 - H)ψ:
        // n0 t2: ψ(-0.7) = 0.3, dV/dH = 1 - 0.09 = 0.91, g = 0.5·0.91 + 0.3 = 0.755
        //    t1: ψ(0.2) = 0.8, dV/dH = -1.2·0.8 = -0.96, g = 0.755·(-0.96) + 0.8 = 0.0752
        //    t0: ψ(-0.4) = 0.6, dV/dH = 1 - 0.36 = 0.64, g = 0.0752·0.64 + 0.6 = 0.648128 = ∂L/∂V_0
        // n1 t2: ψ(-1.1) = 0, dV/dH = 1, g = 0.5;  t1: ψ(-1.5) = 0, g = 0.5
        //    t0: ψ(0.2) = 0.8, dV/dH = -0.96, g = 0.5·(-0.96) + 0.8 = 0.32 = ∂L/∂V_0
        var n = new IfNode(vThreshold: 1f, vReset: 0f, surrogate: Surrogate.PiecewiseQuadratic(1f));
        var r = Run(n, [0.6f, 1.2f, 0.6f, -0.5f, 0.3f, 0.4f]);
        Assert.Equal(new float[] { 0, 1, 1, 0, 0, 0 }, r.Spikes);
        Approx.Close("V_T", r.V, [0.3f, -0.1f], Tol, 0);
        Approx.Close("grad x", r.Gx, [0.648128f, 0.32f, 0.0752f, 0.5f, 0.755f, 0.5f], Tol, 0);
        Approx.Close("grad V_0", r.Gv0, [0.648128f, 0.32f], Tol, 0);
    }

    [Fact]
    public void LifSoftResetDecayInput()
    {
        // LIF, τ = 2 (k = 0.5), decay_input, soft reset: H = V + (X - V)·0.5; V = H - S.
        // x = [[1.0, 2.4], [1.6, 0.0], [0.8, 1.0]], V_0 = 0.
        // n0: H = 0.5 (S 0, V 0.5) → 0.5 + 1.1·0.5 = 1.05 (S 1, V 0.05) → 0.05 + 0.75·0.5 = 0.425 (S 0)
        // n1: H = 1.2 (S 1, V 0.2) → 0.2 - 0.2·0.5 = 0.1 (S 0, V 0.1) → 0.1 + 0.9·0.5 = 0.55 (S 0)
        // Backward: β = 0.5, γ = 0.5, dV/dH = 1 - ψ.
        // n0 t2: ψ(-0.575) = 0.425, dV/dH = 0.575, g = 0.5·0.575 + 0.425 = 0.7125, gx = 0.35625
        //    t1: ψ(0.05) = 0.95, dV/dH = 0.05, gV = 0.35625, g = 0.0178125 + 0.95 = 0.9678125, gx = 0.48390625
        //    t0: ψ(-0.5) = 0.5, dV/dH = 0.5, gV = 0.48390625, g = 0.741953125, gx = ∂L/∂V_0 = 0.3709765625
        // n1 t2: ψ(-0.45) = 0.55, dV/dH = 0.45, g = 0.225 + 0.55 = 0.775, gx = 0.3875
        //    t1: ψ(-0.9) = 0.1, dV/dH = 0.9, gV = 0.3875, g = 0.34875 + 0.1 = 0.44875, gx = 0.224375
        //    t0: ψ(0.2) = 0.8, dV/dH = 0.2, gV = 0.224375, g = 0.844875, gx = ∂L/∂V_0 = 0.4224375
        var n = new LifNode(
            tau: 2f,
            vThreshold: 1f,
            vReset: null,
            surrogate: Surrogate.PiecewiseQuadratic(1f)
        );
        var r = Run(n, [1.0f, 2.4f, 1.6f, 0.0f, 0.8f, 1.0f]);
        Assert.Equal(new float[] { 0, 1, 1, 0, 0, 0 }, r.Spikes);
        Approx.Close("V_T", r.V, [0.425f, 0.55f], Tol, 0);
        Approx.Close(
            "grad x",
            r.Gx,
            [0.3709765625f, 0.4224375f, 0.48390625f, 0.224375f, 0.35625f, 0.3875f],
            Tol,
            0
        );
        Approx.Close("grad V_0", r.Gv0, [0.3709765625f, 0.4224375f], Tol, 0);
    }

    [Fact]
    public void PlifHardResetNoDecayDetached()
    {
        // PLIF, initTau = 2 → w = -ln(1) = 0, k = sigmoid(0) = 0.5; no decay_input, v_reset = 0,
        // detach_reset: H = V - 0.5·V + X = 0.5V + X; V = H(1 - S).
        // x = [[0.7, 1.5], [0.6, 0.2], [0.9, -0.3]], V_0 = 0.
        // n0: H = 0.7 (S 0) → 0.35 + 0.6 = 0.95 (S 0) → 0.475 + 0.9 = 1.375 (S 1, V 0)
        // n1: H = 1.5 (S 1, V 0) → 0.2 (S 0) → 0.1 - 0.3 = -0.2 (S 0, V -0.2)
        // Backward: β = 0.5, γ = 1, dV/dH = 1 - S (detached), ∂H/∂k = -(V_{t-1} - 0).
        // n0 t2: ψ(0.375) = 0.625, dV/dH = 0, g = 0.625, ∂k += 0.625·(-0.95) = -0.59375
        //    t1: ψ(-0.05) = 0.95, gV = 0.3125, g = 1.2625, ∂k += 1.2625·(-0.7) = -0.88375
        //    t0: ψ(-0.3) = 0.7, gV = 0.63125, g = 1.33125, ∂k += 0; ∂L/∂V_0 = 0.665625
        // n1 t2: ψ(-1.2) = 0, g = 0.5, ∂k += 0.5·(-0.2) = -0.1
        //    t1: ψ(-0.8) = 0.2, gV = 0.25, g = 0.45, ∂k += 0.45·(-0) = 0
        //    t0: ψ(0.5) = 0.5, dV/dH = 0, g = 0.5; ∂L/∂V_0 = 0.25
        // ∂L/∂k = -1.5775, ∂L/∂w = k(1 - k)·∂L/∂k = 0.25·(-1.5775) = -0.394375
        var n = new PlifNode(
            initTau: 2f,
            vThreshold: 1f,
            vReset: 0f,
            decayInput: false,
            detachReset: true,
            surrogate: Surrogate.PiecewiseQuadratic(1f)
        );
        Assert.Equal(0f, n.W.Item());
        var r = Run(n, [0.7f, 1.5f, 0.6f, 0.2f, 0.9f, -0.3f]);
        Assert.Equal(new float[] { 0, 1, 0, 0, 1, 0 }, r.Spikes);
        Approx.Close("V_T", r.V, [0f, -0.2f], Tol, 0);
        Approx.Close("grad x", r.Gx, [1.33125f, 0.5f, 1.2625f, 0.45f, 0.625f, 0.5f], Tol, 0);
        Approx.Close("grad V_0", r.Gv0, [0.665625f, 0.25f], Tol, 0);
        Approx.Close("grad w", n.W.Grad!.ToArray(), [-0.394375f], Tol, 0);
    }

    private sealed record Outcome(float[] Spikes, float[] V, float[] Gx, float[] Gv0);

    // Runs x (T = 3, N = 2) from V_0 = 0 given as a leaf, with L = Σ S + 0.5 Σ V_T.
    private static Outcome Run(FusedNeuronNode n, float[] x)
    {
        using var scope = TensorScope.Begin();
        var xt = Tensor.FromArray(x, [3, 2], requiresGrad: true);
        var v0 = Tensor.Zeros([2], requiresGrad: true);
        n.V = v0;
        var s = n.Forward(xt);
        var v = n.V!;
        Assert.Equal([2], v.Shape.ToArray());
        var loss = s.Sum() + v.Sum() * 0.5f;
        loss.Backward();
        Assert.Equal(2L, n.LastSpikeCount); // each case above fires twice
        Assert.Equal(6L, n.LastNeuronSteps);
        Assert.Equal(2.0 / 6.0, n.LastFiringRate, 12);
        return new Outcome(s.ToArray(), v.ToArray(), xt.Grad!.ToArray(), v0.Grad!.ToArray());
    }
}
