using Xunit;

namespace SpikeEngine.Tests;

// Memory counters are global per device: this collection runs alone.
[CollectionDefinition("memory", DisableParallelization = true)]
public class MemoryCollection;

[Collection("memory")]
public class LifetimeTests
{
    // Tensors other tests leaked are finalised at random times and change the live count:
    // let the finaliser run first.
    private static MemoryStats Settled()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return MemoryStats.For(Device.Cpu);
    }

    [Fact]
    public void ScopeReleasesEverythingButKeptTensors()
    {
        var stats = Settled();
        var before = stats.LiveBuffers;
        Tensor kept;
        using (var scope = TensorScope.Begin())
        {
            var a = Tensor.Ones([128]);
            var b = a * 2f + a;
            kept = scope.Keep(b.Sum());
            Assert.True(stats.LiveBuffers > before + 1);
        }
        Assert.Equal(before + 1, stats.LiveBuffers);
        Assert.Equal(384f, kept.Item());
        kept.Dispose();
        Assert.Equal(before, stats.LiveBuffers);
    }

    [Fact]
    public void NestedScopesKeepMovesToTheParent()
    {
        var stats = Settled();
        var before = stats.LiveBuffers;
        using (var outer = TensorScope.Begin())
        {
            using (var inner = TensorScope.Begin())
                inner.Keep(Tensor.Ones([4]));
            Assert.Equal(before + 1, stats.LiveBuffers);
        }
        Assert.Equal(before, stats.LiveBuffers);
    }

    [Fact]
    public void ViewsShareStorageUntilTheLastHandleGoes()
    {
        var stats = Settled();
        var before = stats.LiveBuffers;
        var a = Tensor.Ones([2, 3]);
        var v = a.Reshape(6);
        a.Dispose();
        using (var s = v.Sum())
            Assert.Equal(6f, s.Item());
        v.Dispose();
        Assert.Equal(before, stats.LiveBuffers);
    }

    /// <summary>
    /// A small conv–BN–linear model: forward, backward and a momentum-SGD update inside one scope
    /// per step. Afterwards the live buffers are exactly parameters + gradients + momentum buffers
    /// (+ BN running statistics, the model's buffers).
    /// </summary>
    [Fact]
    public void TrainingStepLeavesOnlyParametersGradientsAndOptimizerState()
    {
        var stats = Settled();
        var before = stats.LiveBuffers;
        var w1 = TensorScope.Unscoped(Tensor.KaimingNormalFanOut([8, 3, 3, 3], seed: 1));
        var gamma = TensorScope.Unscoped(Tensor.Ones([8], requiresGrad: true));
        var beta = TensorScope.Unscoped(Tensor.Zeros([8], requiresGrad: true));
        var runMean = TensorScope.Unscoped(Tensor.Zeros([8]));
        var runVar = TensorScope.Unscoped(Tensor.Ones([8]));
        var w2 = TensorScope.Unscoped(Tensor.KaimingNormalFanOut([10, 8], seed: 2));
        var b2 = TensorScope.Unscoped(Tensor.Zeros([10], requiresGrad: true));
        Tensor[] parameters = [w1, gamma, beta, w2, b2];
        var momentum = parameters
            .Select(p => TensorScope.Unscoped(Tensor.Zeros(p.Shape.ToArray())))
            .ToArray();
        var x = TensorScope.Unscoped(Tensor.Normal([4, 3, 8, 8], seed: 3));
        var labels = TensorScope.Unscoped(Tensor.FromInt32([1, 2, 3, 4], [4]));
        float first = 0,
            last = 0;
        for (var step = 0; step < 5; step++)
        {
            using (var scope = TensorScope.Begin())
            {
                var h = Ops.Conv2d(x, w1, null, 1, 1);
                h = Ops.BatchNorm(h, gamma, beta, runMean, runVar, training: true).Relu();
                h = Ops.AdaptiveAvgPool2d(h, 1, 1).Flatten();
                var loss = Ops.CrossEntropy(Ops.Linear(h, w2, b2), labels);
                loss.Backward();
                using (GradMode.NoGrad())
                {
                    for (var i = 0; i < parameters.Length; i++)
                    {
                        momentum[i].Mul_(0.9f).AddScaled_(parameters[i].Grad!);
                        parameters[i].AddScaled_(momentum[i], -0.1f);
                    }
                }
                if (step == 0)
                    first = loss.Item();
                last = loss.Item();
            }
            Assert.Equal(before + parameters.Length * 3 + 4, stats.LiveBuffers);
        }
        Assert.True(last < first, $"loss should fall: {first} -> {last}");
        foreach (var t in parameters.Concat(momentum).Concat([runMean, runVar, x, labels]))
            t.Dispose();
        Assert.Equal(before, stats.LiveBuffers);
    }
}
