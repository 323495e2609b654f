using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace SpikeEngine.Benchmarks;

/// <summary>Jobs shared by the suites: in-process (no separate build), few long iterations.</summary>
public static class BenchJobs
{
    /// <summary>One warm-up and seven measured single invocations per case.</summary>
    public static Job Short { get; } =
        Job
            .Default.WithToolchain(InProcessEmitToolchain.Instance)
            .WithStrategy(RunStrategy.Monitoring)
            .WithWarmupCount(1)
            .WithIterationCount(7)
            .WithInvocationCount(1)
            .WithUnrollFactor(1);
}
