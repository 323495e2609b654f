using Xunit;

namespace SpikeEngine.Tests;

[Collection("memory")]
public class PeakTrackerTests
{
    [Fact]
    public void AtPeakListsTheStoragesLiveAtThePeakWithTheirOrigin()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var stats = MemoryStats.For(Device.Cpu);
        var before = stats.CurrentBytes;
        using var tracker = PeakTracker.Start(Device.Cpu);
        var a = TensorScope.Unscoped(Tensor.Zeros([1000]));
        var b = TensorScope.Unscoped(Tensor.Zeros([2000]));
        a.Dispose(); // the peak (a and b) is behind us
        var c = TensorScope.Unscoped(Tensor.Zeros([500]));
        Assert.Equal(before + 12000, tracker.PeakBytes);
        var at = tracker.AtPeak();
        var mine = at.Where(e =>
                e.Origin.Contains(nameof(PeakTrackerTests), StringComparison.Ordinal)
            )
            .Select(e => e.Bytes)
            .Order()
            .ToArray();
        Assert.Equal([4000L, 8000L], mine);
        Assert.All(at, e => Assert.True(e.Bytes > 0));
        // What was live before the tracker started is one entry; the total is the peak.
        Assert.Equal(tracker.PeakBytes, at.Sum(e => e.Bytes));
        Assert.Equal(before, at.Where(e => e.Origin == "(before tracking)").Sum(e => e.Bytes));
        var byOrigin = tracker.AtPeakByOrigin();
        Assert.Contains(byOrigin, g => g.Bytes == 12000 && g.Count == 2);
        b.Dispose();
        c.Dispose();
        Assert.Throws<InvalidOperationException>(() => PeakTracker.Start(Device.Cpu));
    }
}
