using System.Diagnostics;
using System.Text.Json;

namespace SpikeEngine.Training.Tests;

/// <summary>
/// A real <c>spike train</c> process killed with SIGKILL mid-epoch and resumed with --resume ends
/// with the same metrics as an uninterrupted run: step checkpoints restore weights, optimizer,
/// schedule, RNG and the data order.
/// </summary>
public class KillResumeTests
{
    private static string SpikeDll => Path.Combine(AppContext.BaseDirectory, "spike.dll");

    private static Process Start(string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(SpikeDll);
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        psi.Environment["NO_COLOR"] = "1";
        // A fixed density threshold, no batched GEMM and no Winograd: the default measured choices
        // (dense or event-driven; oneDNN, the batched GEMM or Winograd) time the paths in each
        // process, so the uninterrupted run and the resumed one could take different paths (equal
        // up to rounding only).
        psi.Environment["SPIKEENGINE_SPARSE_CONV"] = "0.15";
        psi.Environment["SPIKEENGINE_BATCHED_CONV"] = "off";
        psi.Environment["SPIKEENGINE_WINOGRAD_CONV"] = "off";
        var p = Process.Start(psi)!;
        // Drain the pipes so the child never blocks on a full buffer.
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    private static void Run(string[] args)
    {
        using var p = Start(args);
        Assert.True(
            p.WaitForExit(TimeSpan.FromMinutes(3)),
            "spike train did not finish in 3 minutes"
        );
        Assert.Equal(0, p.ExitCode);
    }

    // The deterministic metrics of each epoch (throughput and memory vary between runs).
    private static string[] Metrics(string outDir) =>
        File.ReadAllLines(Path.Combine(outDir, "metrics.jsonl"))
            .Select(line =>
            {
                using var doc = JsonDocument.Parse(line);
                var r = doc.RootElement;
                return string.Join(
                    " ",
                    new[] { "epoch", "train_loss", "train_acc", "test_acc" }.Select(k =>
                        $"{k}={r.GetProperty(k).GetRawText()}"
                    )
                );
            })
            .ToArray();

    [Fact]
    public void SigkillMidEpochThenResumeMatchesAnUninterruptedRun()
    {
        var data = Temp.Dir();
        CliTests.WriteIdx(data, "train", 1024, 1);
        CliTests.WriteIdx(data, "t10k", 64, 2);
        string[] Args(string outDir) =>
            [
                "train",
                "--model",
                "danet-mnist-tiny",
                "--dataset",
                "mnist",
                "--data",
                data,
                "--T",
                "2",
                "--epochs",
                "2",
                "--batch",
                "16",
                "--workers",
                "1",
                "--seed",
                "7",
                "--checkpoint-every",
                "5",
                "--out",
                outDir,
            ];

        var reference = Temp.Dir();
        Run(Args(reference));

        var killed = Temp.Dir();
        using (var p = Start(Args(killed)))
        {
            // Kill as soon as a mid-epoch step checkpoint of epoch 1 exists.
            var sw = Stopwatch.StartNew();
            while (!p.HasExited && sw.Elapsed < TimeSpan.FromMinutes(2))
            {
                var dir = Path.Combine(killed, "checkpoints");
                if (
                    Directory.Exists(dir)
                    && Directory
                        .GetFiles(dir, "ckpt-e0001-s*.json")
                        .Any(f => !f.EndsWith("-s000000.json", StringComparison.Ordinal))
                )
                    break;
                Thread.Sleep(5);
            }
            Assert.False(
                p.HasExited,
                "the run finished before it could be killed; make the dataset larger"
            );
            p.Kill(entireProcessTree: true); // SIGKILL on Linux
            p.WaitForExit();
        }
        Assert.False(
            File.Exists(Path.Combine(killed, "metrics.jsonl")) && Metrics(killed).Length == 2,
            "the killed run completed"
        );

        Run([.. Args(killed), "--resume"]);
        Assert.Equal(Metrics(reference), Metrics(killed));
    }
}
