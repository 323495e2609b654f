using SpikeEngine.Nn;
using Xunit;

namespace SpikeEngine.Nn.Tests.Layers;

public class LayerTests
{
    [Fact]
    public void DropoutSharesOneMaskAcrossTimeSteps()
    {
        const int t = 4,
            perStep = 2 * 3 * 5;
        using var x = Tensor.Ones([t, 2, 3, 5]);
        var dropout = new Dropout(0.5f, seed: 7);
        using var y = dropout.Forward(x);
        var v = y.ToArray();
        for (var i = 0; i < perStep; i++)
        {
            Assert.True(
                v[i] == 0f || v[i] == 2f,
                $"element {i} is {v[i]}, expected 0 or 1/(1-p) = 2"
            );
            for (var s = 1; s < t; s++)
                Assert.Equal(v[i], v[s * perStep + i]);
        }
        Assert.Contains(0f, v);
        Assert.Contains(2f, v);

        // The next call draws a new mask; a fresh layer with the same seed repeats the first.
        using var y2 = dropout.Forward(x);
        Assert.NotEqual(v, y2.ToArray());
        using var y3 = new Dropout(0.5f, seed: 7).Forward(x);
        Assert.Equal(v, y3.ToArray());

        dropout.Eval();
        using var e = dropout.Forward(x);
        Assert.All(e.ToArray(), a => Assert.Equal(1f, a));
    }

    [Fact]
    public void DropoutGradientIsTheMask()
    {
        using var x = Tensor.Ones([3, 2, 8], requiresGrad: true);
        using var y = new Dropout(0.25f, seed: 1).Forward(x);
        using var loss = y.Sum();
        loss.Backward();
        Assert.Equal(y.ToArray(), x.Grad!.ToArray());
    }

    [Fact]
    public void MultiStepBatchNormTakesStatisticsOverTimeAndBatch()
    {
        const int t = 3,
            n = 2,
            c = 2,
            hw = 4;
        using var x = Tensor.Normal([t, n, c, 2, 2], mean: 3f, std: 2f, seed: 11);
        var bn = new BatchNorm2d(c);
        using var y = bn.Forward(x);
        Assert.Equal(new[] { t, n, c, 2, 2 }, y.Shape.ToArray());
        var xv = x.ToArray();
        var yv = y.ToArray();
        var runMean = bn.RunningMean.ToArray();
        var runVar = bn.RunningVar.ToArray();
        for (var ch = 0; ch < c; ch++)
        {
            // Collect channel ch over every (t, n, h, w): T·N·H·W values.
            var xs = new List<double>();
            var ys = new List<double>();
            for (var b = 0; b < t * n; b++)
            {
                for (var k = 0; k < hw; k++)
                {
                    xs.Add(xv[(b * c + ch) * hw + k]);
                    ys.Add(yv[(b * c + ch) * hw + k]);
                }
            }
            Assert.Equal(t * n * hw, xs.Count);
            var mean = xs.Average();
            var varBiased = xs.Sum(v => (v - mean) * (v - mean)) / xs.Count;
            var varUnbiased = varBiased * xs.Count / (xs.Count - 1);
            for (var i = 0; i < xs.Count; i++)
                Assert.Equal((xs[i] - mean) / Math.Sqrt(varBiased + 1e-5), ys[i], 1e-4);
            Assert.Equal(0.1 * mean, runMean[ch], 1e-4);
            Assert.Equal(0.9 + 0.1 * varUnbiased, runVar[ch], 1e-3);
        }
    }

    [Fact]
    public void SeqToBatchFoldsTimeIntoBatch()
    {
        const int t = 3,
            n = 2;
        using var x = Tensor.Normal([t, n, 3, 6, 6], seed: 5);
        var conv = new Conv2d(3, 4, 3, stride: 2, padding: 1, seed: 9);
        var wrapped = new SeqToBatch(conv, new AvgPool2d(3, 3));
        using var y = wrapped.Forward(x);
        Assert.Equal(new[] { t, n, 4, 1, 1 }, y.Shape.ToArray());
        Assert.Equal(
            new[] { t, n, 4, 1, 1 },
            wrapped.InferShape([t, n, 3, 6, 6], new ShapeTrace())
        );

        // Step by step: conv then pool on each [N, C, H, W] slice must give the same values.
        var xv = x.ToArray();
        var per = n * 3 * 6 * 6;
        var yv = y.ToArray();
        for (var s = 0; s < t; s++)
        {
            using var step = Tensor.FromArray(xv[(s * per)..((s + 1) * per)], [n, 3, 6, 6]);
            using var c = conv.Forward(step);
            using var p = Ops.AvgPool2d(c, 3, 3);
            var pv = p.ToArray();
            for (var i = 0; i < pv.Length; i++)
                Assert.Equal(pv[i], yv[s * pv.Length + i], 1e-5);
        }

        // Multi-step layers fold on their own: same result without the wrapper.
        using var direct = conv.Forward(x);
        Assert.Equal(new[] { t, n, 4, 3, 3 }, direct.Shape.ToArray());
        Assert.Equal(new[] { t * n, 3, 6, 6 }, SeqToBatch.Fold([t, n, 3, 6, 6]));
        Assert.Equal(new[] { t, n, 4 }, SeqToBatch.Unfold([t * n, 4], t, n));
    }

    [Fact]
    public void ConvInitIsKaimingFanOutAndSeeded()
    {
        var a = new Conv2d(64, 128, 3, seed: 42);
        var b = new Conv2d(64, 128, 3, seed: 42);
        var c = new Conv2d(64, 128, 3, seed: 43);
        var av = a.Weight.ToArray();
        Assert.Equal(av, b.Weight.ToArray());
        Assert.NotEqual(av, c.Weight.ToArray());
        var std = Math.Sqrt(av.Select(v => (double)v * v).Average());
        Assert.Equal(Math.Sqrt(2.0 / (128 * 9)), std, 1e-3);
        Assert.Equal(128 * 64 * 9, a.ParameterCount());
        var bn = new BatchNorm2d(5);
        Assert.All(bn.Weight.ToArray(), v => Assert.Equal(1f, v));
        Assert.All(bn.Bias.ToArray(), v => Assert.Equal(0f, v));
        bn.ZeroInitWeight();
        Assert.All(bn.Weight.ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void ShapeInferenceMatchesForward()
    {
        var net = new Sequential(
            new Conv2d(2, 4, 7, 2, 3, seed: 1),
            new BatchNorm2d(4),
            new LifNode(),
            new MaxPool2d(3, 2, 1),
            new AdaptiveAvgPool2d(1, 1),
            new Flatten(2),
            new Linear(4, 3, seed: 2)
        );
        using var x = Tensor.Normal([2, 2, 2, 17, 15], seed: 3);
        using var y = net.Forward(x);
        var trace = new ShapeTrace();
        Assert.Equal(y.Shape.ToArray(), net.InferShape([2, 2, 2, 17, 15], trace));
        Assert.Equal(2 * 2 * 4 * 9 * 8, trace.NeuronElements);
        Assert.Equal(1, trace.NeuronLayers);
        Assert.Equal(
            ["0.weight", "1.weight", "1.bias", "6.weight", "6.bias"],
            net.NamedParameters().Select(p => p.Name)
        );
    }

    [Fact]
    public void ShapeOnlyLayersCountWithoutAllocating()
    {
        using (Layer.ShapeOnly())
        {
            var conv = new Conv2d(3, 8, 3, bias: true);
            var lin = new Linear(10, 4);
            Assert.True(conv.IsShapeOnly);
            Assert.Equal(3 * 8 * 9 + 8, Layer.CountParameters(conv));
            Assert.Equal(44, Layer.CountParameters(lin));
            Assert.Empty(conv.NamedParameters());
            using var x = Tensor.Zeros([1, 3, 4, 4]);
            var ex = Assert.Throws<InvalidOperationException>(() => conv.Forward(x));
            Assert.Contains("ShapeOnly", ex.Message);
        }
        Assert.False(new Conv2d(3, 8, 3).IsShapeOnly);
    }

    [Fact]
    public void LayersRejectBadShapesWithNamedMessages()
    {
        using var x4 = Tensor.Zeros([2, 3]);
        var ex = Assert.Throws<ArgumentException>(() => new Conv2d(3, 4, 3).Forward(x4));
        Assert.Contains("Conv2d", ex.Message);
        Assert.Contains("[2, 3]", ex.Message);
        var bn = Assert.Throws<ArgumentException>(() =>
            new BatchNorm2d(4).InferShape([1, 1, 3, 2, 2], new ShapeTrace())
        );
        Assert.Contains("expects 4", bn.Message);
        Assert.Throws<ArgumentException>(() => new Dropout(1f));
        Assert.Throws<ArgumentException>(() => new Sequential(new Sequential()).Add("x", null!));
    }
}
