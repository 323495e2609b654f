using SpikeEngine.Cpu;
using Xunit;

namespace SpikeEngine.Tests;

/// <summary>The dense / event-driven choice: timed once per key, the faster kept, then reused.</summary>
public class MeasuredChoiceTests
{
    // A clock that reports the cost each implementation declares, so the test decides which is faster.
    private sealed class FakeClock
    {
        public double Cost;

        public double Time(Action run)
        {
            Cost = 0;
            run();
            return Cost;
        }
    }

    [Theory]
    [InlineData(2.0, 1.0, true)]
    [InlineData(1.0, 2.0, false)]
    public void KeepsTheFasterAndRunsOnlyItAfterwards(
        double firstCost,
        double secondCost,
        bool second
    )
    {
        var clock = new FakeClock();
        var choice = new MeasuredChoice<string>(clock.Time);
        int firstRuns = 0,
            secondRuns = 0;
        Action first = () =>
        {
            firstRuns++;
            clock.Cost = firstCost;
        };
        Action other = () =>
        {
            secondRuns++;
            clock.Cost = secondCost;
        };
        Assert.Equal(second, choice.Run("a", first, other));
        // Both measured once; a winning first runs again so the output is the choice's.
        Assert.Equal(second ? (1, 1) : (2, 1), (firstRuns, secondRuns));
        Assert.True(choice.TryGet("a", out var kept));
        Assert.Equal(second, kept);
        for (var i = 0; i < 3; i++)
            Assert.Equal(second, choice.Run("a", first, other));
        Assert.Equal(second ? (1, 4) : (5, 1), (firstRuns, secondRuns));
        Assert.Equal(1, choice.Count);
    }

    // Three candidates (the dense race: direct, batched GEMM, Winograd): the fastest is kept,
    // a winner that was not timed last runs once more, and later calls run only it.
    [Theory]
    [InlineData(3.0, 1.0, 2.0, 1)]
    [InlineData(3.0, 2.0, 1.0, 2)]
    [InlineData(1.0, 2.0, 2.0, 0)]
    public void KeepsTheFastestOfThree(double c0, double c1, double c2, int fastest)
    {
        var clock = new FakeClock();
        var choice = new MeasuredChoice<int>(clock.Time);
        var runs = new int[3];
        var costs = new[] { c0, c1, c2 };
        Action Candidate(int i) =>
            () =>
            {
                runs[i]++;
                clock.Cost = costs[i];
            };
        Action[] candidates = [Candidate(0), Candidate(1), Candidate(2)];
        Assert.Equal(fastest, choice.Run(7, candidates));
        var expected = new[] { 1, 1, 1 };
        if (fastest != 2)
            expected[fastest]++;
        Assert.Equal(expected, runs);
        Assert.True(choice.TryGetIndex(7, out var kept));
        Assert.Equal(fastest, kept);
        Assert.Equal(fastest, choice.Run(7, candidates));
        expected[fastest]++;
        Assert.Equal(expected, runs);
    }

    // Two calls measure one key at once and disagree (each finds the other implementation
    // faster): both must end with the choice kept for the key, and each call's result (the
    // implementation it ran last) must come from it. Bit-identical replays rely on that.
    [Fact]
    public async Task TwoCallsMeasuringOneKeyAtOnceEndWithTheKeptChoice()
    {
        var cost = new ThreadLocal<double>();
        var choice = new MeasuredChoice<int>(run =>
        {
            cost.Value = 0;
            run();
            return cost.Value;
        });
        using var bothMeasuring = new Barrier(2);
        var lastRun = new ThreadLocal<bool?>();
        var waited = new ThreadLocal<bool>();
        (bool Result, bool? Last) Measure(double firstCost, double secondCost)
        {
            var result = choice.Run(
                0,
                () =>
                {
                    lastRun.Value = false;
                    cost.Value = firstCost;
                },
                () =>
                {
                    if (!waited.Value)
                    {
                        waited.Value = true;
                        bothMeasuring.SignalAndWait(TimeSpan.FromSeconds(30));
                    }
                    lastRun.Value = true;
                    cost.Value = secondCost;
                }
            );
            return (result, lastRun.Value);
        }
        var a = Task.Run(() => Measure(1.0, 2.0)); // finds the first faster
        var b = Task.Run(() => Measure(2.0, 1.0)); // finds the second faster
        var results = await Task.WhenAll(a, b);
        Assert.True(choice.TryGet(0, out var kept));
        Assert.Equal((kept, (bool?)kept), results[0]);
        Assert.Equal((kept, (bool?)kept), results[1]);
        Assert.Equal(1, choice.Count);
    }

    [Fact]
    public void EachKeyIsMeasuredOnItsOwn()
    {
        var clock = new FakeClock();
        var choice = new MeasuredChoice<int>(clock.Time);
        // Key 0: the second is faster; key 1: the first is.
        Assert.True(choice.Run(0, () => clock.Cost = 3, () => clock.Cost = 1));
        Assert.False(choice.Run(1, () => clock.Cost = 1, () => clock.Cost = 3));
        Assert.True(choice.TryGet(0, out var k0) && k0);
        Assert.True(choice.TryGet(1, out var k1) && !k1);
        Assert.False(choice.TryGet(2, out _));
        choice.Clear();
        Assert.Equal(0, choice.Count);
    }

    [Fact]
    public void ConvolutionRecordsAChoicePerDensityBucketAndMatchesDense()
    {
        if (!double.IsNaN(CpuBackend.EventDrivenDensityThreshold))
            Assert.Skip(
                $"SPIKEENGINE_SPARSE_CONV fixes the path here (threshold {CpuBackend.EventDrivenDensityThreshold})"
            );
        using var scope = TensorScope.Begin();
        // A geometry no other test uses, so its keys are this test's own.
        var x = (0.1f - Tensor.Uniform([2, 13, 9, 9], seed: 21)).Heaviside();
        var w = Tensor.Normal([11, 13, 3, 3], seed: 22);
        var g = Ops.ConvGeometryOf(x, w, (1, 1), (1, 1), (1, 1));
        var be = CpuBackend.Instance;
        var auto = Tensor.Empty([2, 11, 9, 9]);
        var dense = Tensor.Empty([2, 11, 9, 9]);
        be.Conv2dForward(x, w, auto, g, eventDriven: null);
        be.Conv2dForward(x, w, dense, g, eventDriven: false);
        GradCheck.AssertClose("measured forward", auto.ToArray(), dense.ToArray(), 1e-4, 1e-5);
        var bucket = (int)(SpikeConv.Density(x.Span()) / CpuBackend.DensityBucket);
        Assert.True(
            CpuBackend.ConvPathChoice.TryGet((g, DnnlConv.Pass.Forward, bucket), out _),
            "no choice recorded for the forward pass"
        );
        // A dense input is never measured: the event-driven path cannot win there.
        var xd = Tensor.Normal([2, 13, 9, 9], seed: 23);
        be.Conv2dForward(xd, w, auto, g, eventDriven: null);
        var full = (int)(SpikeConv.Density(xd.Span()) / CpuBackend.DensityBucket);
        Assert.False(CpuBackend.ConvPathChoice.TryGet((g, DnnlConv.Pass.Forward, full), out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void DenseConvolutionRunsTheKeptCandidate(int kept)
    {
        if (CpuBackend.BatchedGemmConv is not null || CpuBackend.WinogradConvolution is not null)
            Assert.Skip(
                "SPIKEENGINE_BATCHED_CONV or SPIKEENGINE_WINOGRAD_CONV fixes the path here"
            );
        using var scope = TensorScope.Begin();
        // An 8 × 8 map with 128 channels races all three dense candidates; the batch size makes
        // each case's key its own.
        var n = 5 + kept;
        var x = Tensor.Normal([n, 128, 8, 8], seed: 31);
        var w = Tensor.Normal([128, 128, 3, 3], seed: 32);
        var g = Ops.ConvGeometryOf(x, w, (1, 1), (1, 1), (1, 1));
        var race = CpuBackend.DenseRace(g);
        Assert.Equal(6, race);
        // Settle the choice as a race would: the kept candidate costs nothing, the others 50 ms.
        var races = new Action[3];
        for (var i = 0; i < 3; i++)
            races[i] = i == kept ? () => { } : () => Thread.Sleep(50);
        Assert.Equal(
            kept,
            CpuBackend.DenseChoice.Run(CpuBackend.DenseKey(g, DnnlConv.Pass.Forward, race), races)
        );
        var auto = Tensor.Empty([n, 128, 8, 8]);
        CpuBackend.Instance.Conv2dForward(x, w, auto, g, eventDriven: false);
        // Each candidate's own result, called directly (in race order).
        var results = new float[3][];
        for (var i = 0; i < 3; i++)
        {
            var y = Tensor.Empty([n, 128, 8, 8]);
            float[] xa = CpuBackend.ArrayOf(x),
                wa = CpuBackend.ArrayOf(w),
                ya = CpuBackend.ArrayOf(y);
            if (i == 0 && DnnlConv.Active)
                DnnlConv.Forward(xa, (int)x.Offset, wa, (int)w.Offset, ya, (int)y.Offset, g);
            else if (i == 0)
                CpuBackend.Im2ColForward(x, w, y, g);
            else if (i == 1)
                BatchedConv.Forward(xa, (int)x.Offset, wa, (int)w.Offset, ya, (int)y.Offset, g);
            else
                WinogradConv.Forward(xa, (int)x.Offset, wa, (int)w.Offset, ya, (int)y.Offset, g);
            results[i] = y.ToArray();
        }
        // The three differ in rounding, so equality names the candidate that ran.
        for (var i = 0; i < 3; i++)
            if (i == kept)
                Assert.Equal(results[i], auto.ToArray());
            else
                Assert.NotEqual(results[i], auto.ToArray());
    }
}
