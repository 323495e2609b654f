using System.Diagnostics;
using SpikeEngine.Distributed.Mpi;
using SpikeEngine.Training.Checkpoints;

namespace SpikeEngine.Training.Tests;

/// <summary>
/// <c>spike train --distributed mpi</c> under MPICH's <c>mpiexec</c>: two ranks with batch B give
/// the weights of one rank with batch 2B (sync BN), a rank killed or stopped mid-epoch makes the
/// other fail with one line naming it, and <c>--resume</c> from the last checkpoint completes.
/// Skipped visibly without MPICH; CI installs it (<c>.ci/run</c>), so there it must run.
/// </summary>
[Collection("mpiexec")]
public class DistributedTrainingTests
{
    private const string Launcher = "mpiexec.mpich";
    private static string SpikeDll => Path.Combine(AppContext.BaseDirectory, "spike.dll");

    private const int SigStop = 19; // Linux

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    private static void RequireMpich()
    {
        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator)
            .Any(d => File.Exists(Path.Combine(d, Launcher)));
        if (onPath && MpiLibrary.IsAvailable)
            return;
        var reason = onPath
            ? MpiLibrary.Describe()
            : $"{Launcher} is not on PATH (Debian: apt-get install mpich)";
        Require.MissingInstall(reason);
    }

    private sealed class Launch(Process process, List<string> stderr) : IDisposable
    {
        public Process Process { get; } = process;

        public string[] Stderr
        {
            get
            {
                lock (stderr)
                    return [.. stderr];
            }
        }

        public void Dispose()
        {
            if (!Process.HasExited)
                Process.Kill(entireProcessTree: true);
            Process.Dispose();
        }
    }

    // mpiexec -n N [launcher options] dotnet spike.dll train ARGS; with `shell` each rank runs
    // under `sh -c`, so a SIGKILLed rank reaches the launcher as an exit status (see docs/distributed.md).
    private static Launch Start(
        int ranks,
        string[] args,
        bool shell = false,
        params string[] mpiexecOptions
    )
    {
        var psi = new ProcessStartInfo(Launcher)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var o in mpiexecOptions)
            psi.ArgumentList.Add(o);
        psi.ArgumentList.Add("-n");
        psi.ArgumentList.Add(ranks.ToString(System.Globalization.CultureInfo.InvariantCulture));
        string[] command = ["dotnet", SpikeDll, "train", .. args];
        if (shell)
        {
            psi.ArgumentList.Add("sh");
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(string.Join(" ", command.Select(a => $"'{a}'")) + "; exit $?");
        }
        else
        {
            foreach (var a in command)
                psi.ArgumentList.Add(a);
        }
        psi.Environment["NO_COLOR"] = "1";
        psi.Environment["DOTNET_gcServer"] = "0";
        var p = Process.Start(psi)!;
        var err = new List<string>();
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
                lock (err)
                    err.Add(e.Data);
        };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return new Launch(p, err);
    }

    private static void Run(int ranks, string[] args)
    {
        using var launch = Start(ranks, args);
        Assert.True(
            launch.Process.WaitForExit(TimeSpan.FromMinutes(4)),
            $"mpiexec -n {ranks} spike train did not finish in 4 minutes"
        );
        launch.Process.WaitForExit();
        Assert.True(
            launch.Process.ExitCode == 0,
            $"mpiexec -n {ranks} spike train exited {launch.Process.ExitCode}: {string.Join(" | ", launch.Stderr)}"
        );
    }

    private static string[] TrainArgs(
        string data,
        string outDir,
        int batch,
        params string[] extra
    ) =>
        [
            "--model",
            "danet-mnist-tiny",
            "--dataset",
            "mnist",
            "--data",
            data,
            "--T",
            "2",
            "--batch",
            batch.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--optimizer",
            "sgd",
            "--lr",
            "0.05",
            "--memory",
            "standard",
            "--workers",
            "1",
            "--seed",
            "3",
            "--distributed",
            "mpi",
            "--out",
            outDir,
            .. extra,
        ];

    // The pids of the `dotnet spike.dll` ranks writing to outDir, by rank (MPICH's PMI_RANK).
    private static Dictionary<int, int> RankPids(string outDir)
    {
        var result = new Dictionary<int, int>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
                continue;
            try
            {
                var cmd = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                if (cmd.Length < 2 || Path.GetFileName(cmd[0]) != "dotnet" || !cmd.Contains(outDir))
                    continue;
                var env = File.ReadAllText(Path.Combine(dir, "environ")).Split('\0');
                var rank = env.FirstOrDefault(e =>
                    e.StartsWith("PMI_RANK=", StringComparison.Ordinal)
                );
                if (rank is not null)
                    result[
                        int.Parse(
                            rank["PMI_RANK=".Length..],
                            System.Globalization.CultureInfo.InvariantCulture
                        )
                    ] = pid;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return result;
    }

    private static void WaitForStepCheckpoint(Launch launch, string outDir)
    {
        var clock = Stopwatch.StartNew();
        var dir = Path.Combine(outDir, "checkpoints");
        while (clock.Elapsed < TimeSpan.FromMinutes(2))
        {
            Assert.False(
                launch.Process.HasExited,
                $"the run ended before a step checkpoint: {string.Join(" | ", launch.Stderr)}"
            );
            if (Directory.Exists(dir) && Directory.GetFiles(dir, "ckpt-e0000-s*.json").Length > 0)
                return;
            Thread.Sleep(10);
        }
        Assert.Fail("no step checkpoint within 2 minutes");
    }

    [Fact]
    public void TwoRanksWithBatchBEqualOneRankWithBatch2B()
    {
        RequireMpich();
        var data = Temp.Dir();
        CliTests.WriteIdx(data, "train", 256, 1);
        CliTests.WriteIdx(data, "t10k", 32, 2);
        const int steps = 6;
        // Small buckets: several all-reduces per step, started during backward.
        string[] extra =
        [
            "--sync-bn",
            "--epochs",
            "1",
            "--stop-after-steps",
            $"{steps}",
            "--checkpoint-every",
            $"{steps}",
            "--bucket-mb",
            "0.002",
        ];
        var one = Temp.Dir();
        var two = Temp.Dir();
        Run(1, TrainArgs(data, one, 16, extra));
        Run(2, TrainArgs(data, two, 8, extra));
        var a = CheckpointStore.Load(
            Directory.GetFiles(Path.Combine(one, "checkpoints"), "*.json").Single()
        );
        var b = CheckpointStore.Load(
            Directory.GetFiles(Path.Combine(two, "checkpoints"), "*.json").Single()
        );
        Assert.Equal(steps, a.State.GlobalStep);
        Assert.Equal(steps, b.State.GlobalStep);
        // The epoch's running sums cover both ranks' samples: the same as one rank's.
        Assert.Equal(a.State.Seen, b.State.Seen);
        Assert.Equal(a.State.Correct, b.State.Correct);
        double worst = 0;
        var byName = b.Model.ToDictionary(t => t.Name);
        Assert.Equal(a.Model.Count, b.Model.Count);
        foreach (var t in a.Model)
        {
            var u = byName[t.Name];
            double scale = Math.Max(t.Data.Max(v => Math.Abs(v)), 1e-12);
            double diff = t.Data.Zip(u.Data, (x, y) => Math.Abs(x - y)).Max();
            worst = Math.Max(worst, diff / scale);
            Assert.True(
                diff <= 1e-5 * scale,
                $"'{t.Name}': max |1 rank − 2 ranks| = {diff:G3}, {diff / scale:G3} of its largest magnitude {scale:G3}"
            );
        }
        TestContext.Current.TestOutputHelper?.WriteLine($"worst relative difference {worst:G3}");
        // The run moved the weights (the comparison is not of two untouched initialisations).
        var init = Temp.Dir();
        Run(
            1,
            TrainArgs(
                data,
                init,
                16,
                ["--sync-bn", "--epochs", "1", "--stop-after-steps", "1", "--checkpoint-every", "1"]
            )
        );
        var c = CheckpointStore.Load(
            Directory.GetFiles(Path.Combine(init, "checkpoints"), "*.json").Single()
        );
        Assert.Contains(
            c.Model,
            t => t.Data.Zip(byName[t.Name].Data, (x, y) => Math.Abs(x - y)).Max() > 1e-4
        );
    }

    [Fact]
    public void SigkilledRankIsNamedByTheOtherAndTheRunResumes()
    {
        RequireMpich();
        var data = Temp.Dir();
        CliTests.WriteIdx(data, "train", 2048, 1);
        CliTests.WriteIdx(data, "t10k", 32, 2);
        var outDir = Temp.Dir();
        // Long enough that a rank starting late on a loaded machine is not taken for lost.
        string[] args = TrainArgs(
            data,
            outDir,
            8,
            "--epochs",
            "1",
            "--checkpoint-every",
            "4",
            "--collective-timeout",
            "20"
        );
        using (var launch = Start(2, args, shell: true, "-disable-auto-cleanup"))
        {
            WaitForStepCheckpoint(launch, outDir);
            var pids = RankPids(outDir);
            Assert.True(pids.ContainsKey(1), $"rank 1 not found among {string.Join(", ", pids)}");
            var clock = Stopwatch.StartNew();
            Process.GetProcessById(pids[1]).Kill(); // SIGKILL
            Assert.True(
                launch.Process.WaitForExit(TimeSpan.FromSeconds(60)),
                "the surviving rank did not exit within 60 s of the kill"
            );
            launch.Process.WaitForExit();
            Assert.NotEqual(0, launch.Process.ExitCode);
            var lines = launch
                .Stderr.Where(l => l.StartsWith("spike:", StringComparison.Ordinal))
                .ToArray();
            var line = Assert.Single(lines);
            Assert.StartsWith("spike: error: lost rank 1 of 2:", line);
            Assert.Contains("did not complete within 20 s (--collective-timeout)", line);
            TestContext.Current.TestOutputHelper?.WriteLine(
                $"{clock.Elapsed.TotalSeconds:F1} s after the kill: {line}"
            );
        }
        Assert.False(
            File.Exists(Path.Combine(outDir, "metrics.jsonl")),
            "the killed run completed an epoch"
        );
        Run(2, [.. args, "--resume"]);
        var metrics = File.ReadAllLines(Path.Combine(outDir, "metrics.jsonl"));
        Assert.Single(metrics);
    }

    [Fact]
    public void StoppedRankIsNamedByTheOther()
    {
        RequireMpich();
        var data = Temp.Dir();
        CliTests.WriteIdx(data, "train", 2048, 1);
        CliTests.WriteIdx(data, "t10k", 32, 2);
        var outDir = Temp.Dir();
        string[] args = TrainArgs(
            data,
            outDir,
            8,
            "--epochs",
            "1",
            "--checkpoint-every",
            "4",
            "--collective-timeout",
            "15"
        );
        using var launch = Start(2, args);
        WaitForStepCheckpoint(launch, outDir);
        var pids = RankPids(outDir);
        Assert.True(pids.ContainsKey(1), $"rank 1 not found among {string.Join(", ", pids)}");
        // SIGSTOP: the rank hangs without dying; mpiexec cleans it up once rank 0 fails.
        Assert.Equal(0, Kill(pids[1], SigStop));
        Assert.True(
            launch.Process.WaitForExit(TimeSpan.FromSeconds(60)),
            "rank 0 did not fail within 60 s of rank 1 hanging"
        );
        launch.Process.WaitForExit();
        Assert.NotEqual(0, launch.Process.ExitCode);
        var line = Assert.Single(
            launch.Stderr,
            l => l.StartsWith("spike:", StringComparison.Ordinal)
        );
        Assert.StartsWith("spike: error: lost rank 1 of 2:", line);
    }
}
