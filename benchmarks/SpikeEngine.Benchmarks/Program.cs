using BenchmarkDotNet.Running;

namespace SpikeEngine.Benchmarks;

public static class Program
{
    /// <summary>Runs the suites: <c>dotnet pwsh build.ps1 bench -- --filter '*Conv*'</c>.</summary>
    public static void Main(string[] args) =>
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
