using SpikeEngine.Models;
using SpikeEngine.Training.Optim;

namespace SpikeEngine.Training.Tests;

/// <summary>The optimizer update rules, through the CPU backend's fused primitives, against hand values.</summary>
public sealed class OptimizerTests
{
    private static readonly IBackend Cpu = Backends.For(Device.Cpu);

    private static Tensor T(params float[] values) => Tensor.FromArray(values, [values.Length]);

    private static void Sgd(
        Tensor p,
        Tensor g,
        Tensor? buf,
        float lr,
        float momentum,
        float weightDecay,
        bool nesterov,
        bool firstStep
    ) =>
        Cpu.SgdStep(
            [p],
            [g],
            buf is null ? null : [buf],
            lr,
            momentum,
            weightDecay,
            nesterov,
            firstStep
        );

    [Fact]
    public void SgdMomentumWeightDecayMatchesHandValues()
    {
        using var scope = TensorScope.Begin();
        var p = T(1f, -2f);
        var buf = T(0f, 0f);
        var g = T(0.5f, 1f);
        // step 1: d = g + wd p = [0.5 + 0.1, 1 - 0.2] = [0.6, 0.8]; b = d; p -= 0.1 b
        Sgd(p, g, buf, lr: 0.1f, momentum: 0.9f, weightDecay: 0.1f, false, firstStep: true);
        Assert.Equal([0.6f, 0.8f], buf.ToArray());
        Assert.Equal(0.94f, p.ToArray()[0], 1e-6);
        Assert.Equal(-2.08f, p.ToArray()[1], 1e-6);
        // step 2: d = [0.5 + 0.094, 1 - 0.208] = [0.594, 0.792]; b = 0.9·[0.6, 0.8] + d = [1.134, 1.512]
        Sgd(p, g, buf, 0.1f, 0.9f, 0.1f, false, false);
        Assert.Equal(1.134f, buf.ToArray()[0], 1e-5);
        Assert.Equal(1.512f, buf.ToArray()[1], 1e-5);
        Assert.Equal(0.94f - 0.1134f, p.ToArray()[0], 1e-5);
        Assert.Equal(-2.08f - 0.1512f, p.ToArray()[1], 1e-5);
    }

    [Fact]
    public void SgdNesterovMatchesHandValues()
    {
        using var scope = TensorScope.Begin();
        var p = T(1f);
        var buf = T(0f);
        Sgd(p, T(1f), buf, 0.1f, 0.9f, 0f, nesterov: true, firstStep: true);
        // b = 1, u = g + μ b = 1.9
        Assert.Equal(1f - 0.19f, p.ToArray()[0], 1e-6);
        Sgd(p, T(1f), buf, 0.1f, 0.9f, 0f, nesterov: true, firstStep: false);
        // b = 0.9 + 1 = 1.9, u = 1 + 0.9·1.9 = 2.71
        Assert.Equal(1.9f, buf.ToArray()[0], 1e-6);
        Assert.Equal(0.81f - 0.271f, p.ToArray()[0], 1e-5);
    }

    [Fact]
    public void PlainSgdNeedsNoState()
    {
        using var scope = TensorScope.Begin();
        var p = T(2f);
        Sgd(p, T(0.5f), null, 0.2f, 0f, 0f, false, true);
        Assert.Equal(1.9f, p.ToArray()[0], 1e-6);
        var e = Assert.Throws<ArgumentException>(() =>
            Sgd(p, T(0.5f), null, 0.2f, 0.9f, 0f, false, true)
        );
        Assert.Contains("momentum buffers", e.Message);
    }

    [Fact]
    public void AdamWMatchesHandValues()
    {
        using var scope = TensorScope.Begin();
        var p = T(1f);
        var m = T(0f);
        var v = T(0f);
        const float lr = 0.01f,
            b1 = 0.9f,
            b2 = 0.999f,
            eps = 1e-8f,
            wd = 0.1f;
        Cpu.AdamWStep([p], [T(0.5f)], [m], [v], lr, b1, b2, eps, wd, step: 1);
        // m = 0.05, v = 0.00025; m̂ = 0.5, v̂ = 0.25; p = 1·(1 - 0.001) - 0.01·0.5/(0.5 + 1e-8)
        Assert.Equal(0.05f, m.ToArray()[0], 1e-7);
        Assert.Equal(0.00025, v.ToArray()[0], 0.00025 * 1e-4);
        double expected1 = 1 * (1 - lr * wd) - lr * 0.5 / (0.5 + eps);
        Assert.Equal(expected1, p.ToArray()[0], 1e-6);
        Cpu.AdamWStep([p], [T(-0.25f)], [m], [v], lr, b1, b2, eps, wd, step: 2);
        double m2 = 0.9 * 0.05 + 0.1 * -0.25,
            v2 = 0.999 * 0.00025 + 0.001 * 0.0625;
        double mh = m2 / (1 - 0.81),
            vh = v2 / (1 - 0.999 * 0.999);
        double expected2 = expected1 * (1 - lr * wd) - lr * mh / (Math.Sqrt(vh) + eps);
        Assert.Equal(m2, m.ToArray()[0], 1e-6);
        Assert.Equal(v2, v.ToArray()[0], v2 * 1e-4);
        Assert.Equal(expected2, p.ToArray()[0], 1e-5);
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            Cpu.AdamWStep([p], [T(1f)], [m], [v], lr, b1, b2, eps, wd, step: 0)
        );
    }

    [Fact]
    public void OptimizerStepsAModuleAndKeepsNamedState()
    {
        using var model = ModelRegistry.Create(
            "danet-mnist-tiny",
            ModelOptions.ForInput(4, 1, 8, 3)
        );
        using var opt = new AdamW(model.NamedParameters(), weightDecay: 0f);
        var (name, p) = model.NamedParameters().First();
        var before = p.ToArray();
        p.Grad = Tensor.Ones(p.Shape.ToArray());
        opt.Step(0.01f);
        var after = p.ToArray();
        // First AdamW step with g = 1 moves every element by lr·1/(1 + eps) ≈ lr.
        for (int i = 0; i < before.Length; i++)
            Assert.Equal(before[i] - 0.01f, after[i], 1e-4);
        Assert.Contains(opt.NamedState(), s => s.Name == name + ".exp_avg");
        Assert.Equal(1, opt.StepCount);
        model.ZeroGrad();
    }

    [Fact]
    public void BadHyperParametersNameTheArgument()
    {
        using var model = ModelRegistry.Create(
            "danet-mnist-tiny",
            ModelOptions.ForInput(4, 1, 8, 3)
        );
        var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
            new Sgd(model.NamedParameters(), momentum: 1.5f)
        );
        Assert.Contains("momentum", e.Message);
        var u = Assert.Throws<ArgumentException>(() => Optimizer.Create("adam", model, 0f));
        Assert.Contains("'adam'", u.Message);
    }
}
