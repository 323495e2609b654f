using SpikeEngine.Training.Optim;

namespace SpikeEngine.Training.Tests;

public sealed class OptimizerTests
{
    [Fact]
    public void SgdMomentumWeightDecayMatchesHandValues()
    {
        float[] p = [1f, -2f];
        float[] buf = new float[2];
        // step 1: d = g + wd p = [0.5 + 0.1, 1 - 0.2] = [0.6, 0.8]; b = d; p -= 0.1 b
        OptimizerMath.SgdStep(
            p,
            [0.5f, 1f],
            buf,
            lr: 0.1f,
            momentum: 0.9f,
            weightDecay: 0.1f,
            nesterov: false,
            firstStep: true
        );
        Assert.Equal([0.6f, 0.8f], buf);
        Assert.Equal(0.94f, p[0], 6);
        Assert.Equal(-2.08f, p[1], 6);
        // step 2: d = [0.5 + 0.094, 1 - 0.208] = [0.594, 0.792]; b = 0.9·[0.6, 0.8] + d = [1.134, 1.512]
        OptimizerMath.SgdStep(p, [0.5f, 1f], buf, 0.1f, 0.9f, 0.1f, false, false);
        Assert.Equal(1.134f, buf[0], 5);
        Assert.Equal(1.512f, buf[1], 5);
        Assert.Equal(0.94f - 0.1134f, p[0], 5);
        Assert.Equal(-2.08f - 0.1512f, p[1], 5);
    }

    [Fact]
    public void SgdNesterovMatchesHandValues()
    {
        float[] p = [1f];
        float[] buf = new float[1];
        OptimizerMath.SgdStep(p, [1f], buf, 0.1f, 0.9f, 0f, nesterov: true, firstStep: true);
        // b = 1, u = g + μ b = 1.9
        Assert.Equal(1f - 0.19f, p[0], 6);
        OptimizerMath.SgdStep(p, [1f], buf, 0.1f, 0.9f, 0f, nesterov: true, firstStep: false);
        // b = 0.9 + 1 = 1.9, u = 1 + 0.9·1.9 = 2.71
        Assert.Equal(1.9f, buf[0], 6);
        Assert.Equal(0.81f - 0.271f, p[0], 5);
    }

    [Fact]
    public void PlainSgdNeedsNoState()
    {
        float[] p = [2f];
        OptimizerMath.SgdStep(p, [0.5f], Span<float>.Empty, 0.2f, 0f, 0f, false, true);
        Assert.Equal(1.9f, p[0], 6);
    }

    [Fact]
    public void AdamWMatchesHandValues()
    {
        float[] p = [1f];
        float[] m = new float[1],
            v = new float[1];
        const float lr = 0.01f,
            b1 = 0.9f,
            b2 = 0.999f,
            eps = 1e-8f,
            wd = 0.1f;
        OptimizerMath.AdamWStep(p, [0.5f], m, v, lr, b1, b2, eps, wd, t: 1);
        // m = 0.05, v = 0.00025; m̂ = 0.5, v̂ = 0.25; p = 1·(1 - 0.001) - 0.01·0.5/(0.5 + 1e-8)
        Assert.Equal(0.05f, m[0], 7);
        Assert.Equal(0.00025, v[0], 0.00025 * 1e-4);
        double expected1 = 1 * (1 - lr * wd) - lr * 0.5 / (0.5 + eps);
        Assert.Equal(expected1, p[0], 6);
        OptimizerMath.AdamWStep(p, [-0.25f], m, v, lr, b1, b2, eps, wd, t: 2);
        double m2 = 0.9 * 0.05 + 0.1 * -0.25,
            v2 = 0.999 * 0.00025 + 0.001 * 0.0625;
        double mh = m2 / (1 - 0.81),
            vh = v2 / (1 - 0.999 * 0.999);
        double expected2 = expected1 * (1 - lr * wd) - lr * mh / (Math.Sqrt(vh) + eps);
        Assert.Equal(m2, m[0], 6);
        Assert.Equal(v2, v[0], v2 * 1e-4);
        Assert.Equal(expected2, p[0], 5);
    }

    [Fact]
    public void OptimizerStepsAModuleAndKeepsNamedState()
    {
        using var model = Models.ModelCatalog.Create(
            "danet-mnist-tiny",
            4,
            new Data.SampleShape(1, 8, 8),
            3
        );
        using var opt = new AdamW(model.Module.NamedParameters(), weightDecay: 0f);
        var (name, p) = model.Module.NamedParameters().First();
        var before = p.ToArray();
        p.Grad = Tensor.Ones(p.Shape.ToArray());
        opt.Step(0.01f);
        var after = p.ToArray();
        // First AdamW step with g = 1 moves every element by lr·1/(1 + eps) ≈ lr.
        for (int i = 0; i < before.Length; i++)
            Assert.Equal(before[i] - 0.01f, after[i], 4);
        Assert.Contains(opt.NamedState(), s => s.Name == name + ".exp_avg");
        Assert.Equal(1, opt.StepCount);
        model.Module.ZeroGrad();
    }

    [Fact]
    public void BadHyperParametersNameTheArgument()
    {
        using var model = Models.ModelCatalog.Create(
            "danet-mnist-tiny",
            4,
            new Data.SampleShape(1, 8, 8),
            3
        );
        var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
            new Sgd(model.Module.NamedParameters(), momentum: 1.5f)
        );
        Assert.Contains("momentum", e.Message);
        var u = Assert.Throws<ArgumentException>(() => Optimizer.Create("adam", model.Module, 0f));
        Assert.Contains("'adam'", u.Message);
    }
}
