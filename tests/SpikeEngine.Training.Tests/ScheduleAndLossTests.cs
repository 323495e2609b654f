namespace SpikeEngine.Training.Tests;

public sealed class ScheduleAndLossTests
{
    [Fact]
    public void CosineWarmsUpLinearlyThenDecaysToMin()
    {
        var s = new CosineSchedule(baseLr: 1f, totalSteps: 110, warmupSteps: 10, minLr: 0f);
        Assert.Equal(0.1f, s.LearningRate(0), 1e-6);
        Assert.Equal(0.5f, s.LearningRate(4), 1e-6);
        Assert.Equal(1f, s.LearningRate(9), 1e-6);
        Assert.Equal(1f, s.LearningRate(10), 1e-6);
        Assert.Equal(0.5f, s.LearningRate(60), 5); // halfway through the cosine
        Assert.Equal((float)(0.5 * (1 + Math.Cos(Math.PI * 0.25))), s.LearningRate(35), 1e-5);
        Assert.Equal(0f, s.LearningRate(110), 1e-6);
        Assert.Equal(0f, s.LearningRate(500), 1e-6);
    }

    [Fact]
    public void StepScheduleDecaysEveryInterval()
    {
        var s = new StepSchedule(0.1f, every: 5, gamma: 0.5f);
        Assert.Equal(0.1f, s.LearningRate(0), 1e-7);
        Assert.Equal(0.1f, s.LearningRate(4), 1e-7);
        Assert.Equal(0.05f, s.LearningRate(5), 1e-7);
        Assert.Equal(0.025f, s.LearningRate(14), 1e-7);
    }

    [Fact]
    public void SchedulesRejectBadSettingsByName()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
            new CosineSchedule(0.1f, 10, warmupSteps: 20)
        );
        Assert.Contains("warm-up", e.Message);
    }

    private static double Ce(float[] logits, int label, float eps = 0f)
    {
        double max = logits.Max();
        double lse = Math.Log(logits.Sum(l => Math.Exp(l - max))) + max;
        double loss = 0;
        for (int k = 0; k < logits.Length; k++)
        {
            double q = (k == label ? 1 - eps : 0) + eps / logits.Length;
            loss -= q * (logits[k] - lse);
        }
        return loss;
    }

    [Fact]
    public void MeanCeAndTetMatchHandComputation()
    {
        // output [T=2, N=2, K=3]
        float[] o = [1, 2, 0, 0, 1, 3, 3, 0, 1, 2, 2, 0];
        using var output = Tensor.FromArray(o, [2, 2, 3]);
        using var labels = Tensor.FromInt32([1, 2], [2]);
        using var ce = Losses.Compute(output, labels, LossKind.MeanCrossEntropy, 0.1f);
        double expectedCe =
            (
                Ce([(1 + 3) / 2f, (2 + 0) / 2f, (0 + 1) / 2f], 1, 0.1f)
                + Ce([(0 + 2) / 2f, (1 + 2) / 2f, (3 + 0) / 2f], 2, 0.1f)
            ) / 2;
        Assert.Equal(expectedCe, ce.Item(), 1e-5);
        using var tet = Losses.Compute(output, labels, LossKind.Tet);
        double expectedTet =
            (Ce([1, 2, 0], 1) + Ce([0, 1, 3], 2) + Ce([3, 0, 1], 1) + Ce([2, 2, 0], 2)) / 4;
        Assert.Equal(expectedTet, tet.Item(), 1e-5);
    }

    [Fact]
    public void TypedLossesMatchHandComputationAndTheirKinds()
    {
        float[] o = [1, 2, 0, 0, 1, 3, 3, 0, 1, 2, 2, 0]; // (T=2, N=2, K=3)
        using var output = Tensor.FromArray(o, [2, 2, 3]);
        using var labels = Tensor.FromInt32([1, 2], [2]);
        using var tet = new TetLoss(0.2f).Compute(output, labels);
        double expected =
            (
                Ce([1, 2, 0], 1, 0.2f)
                + Ce([0, 1, 3], 2, 0.2f)
                + Ce([3, 0, 1], 1, 0.2f)
                + Ce([2, 2, 0], 2, 0.2f)
            ) / 4;
        Assert.Equal(expected, tet.Item(), 1e-5);
        using var ce = new MeanCrossEntropyLoss().Compute(output, labels);
        Assert.Equal((Ce([2, 1, 0.5f], 1) + Ce([1, 1.5f, 1.5f], 2)) / 2, ce.Item(), 1e-5);
        Assert.IsType<TetLoss>(Loss.For(LossKind.Tet, 0.1f));
        Assert.Equal(0.1f, Loss.For(LossKind.MeanCrossEntropy, 0.1f).LabelSmoothing);
        var bad = Assert.Throws<ArgumentException>(() =>
            new TetLoss().Compute(output, Tensor.FromInt32([1], [1]))
        );
        Assert.Contains("labels must be [2]", bad.Message);
    }

    [Fact]
    public void ClippingScalesToTheLimitAndReportsTheNorm()
    {
        using var p = Tensor.Zeros([2], requiresGrad: true);
        p.Grad = Tensor.FromArray([3f, 4f], [2]);
        var list = new List<(string, Tensor)> { ("w", p) };
        Assert.Equal(5.0, Gradients.ClipByNorm(list, 1.0), 1e-6);
        var g = p.Grad.ToArray();
        Assert.Equal(0.6f, g[0], 1e-5);
        Assert.Equal(0.8f, g[1], 1e-5);
        p.Grad.Dispose();
        p.Grad = Tensor.FromArray([1f, float.NaN], [2]);
        var bad = Gradients.FirstNonFinite(list);
        Assert.NotNull(bad);
        Assert.Equal("w", bad.Value.Name);
        Assert.Equal(1L, bad.Value.Index);
    }
}
