using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SpikeEngine.Bench;
using SpikeEngine.Cpu;
using SpikeEngine.Models;
using SpikeEngine.Nn;
using SpikeEngine.Training.Optim;

namespace SpikeEngine.Cli;

/// <summary>
/// <c>spike bench</c>: <c>memory</c> (what one training step saves for backward, per layer, against
/// the generic float32 layout; docs/memory.md), <c>step</c> (training-step time and images/s) and
/// <c>neuron</c> (the fused LIF scan per neuron-step against copy bandwidth).
/// </summary>
public static class BenchCommand
{
    public static Command Build(TextWriter stdout)
    {
        var cmd = new Command("bench", "Measure memory and speed.");
        cmd.Subcommands.Add(BuildMemory(stdout));
        cmd.Subcommands.Add(BuildStep(stdout));
        cmd.Subcommands.Add(BuildNeuron(stdout));
        return cmd;
    }

    // -- shared options -----------------------------------------------------------------------

    private sealed class ModelArgs
    {
        public readonly Option<string> Model = new("--model")
        {
            Description = "Registered model name (see 'spike models').",
            Required = true,
        };
        public readonly Option<int> T = new Option<int>("--T")
        {
            Description = "Time steps.",
            DefaultValueFactory = _ => 4,
        }.Check(v => v >= 1, "must be at least 1");
        public readonly Option<int> Batch = new Option<int>("--batch")
        {
            Description = "Batch size.",
            DefaultValueFactory = _ => 32,
        }.Check(v => v >= 1, "must be at least 1");
        public readonly Option<string> Input = new("--input")
        {
            Description = "Input CxHxW.",
            DefaultValueFactory = _ => "3x224x224",
        };
        public readonly Option<string?> Stem = new("--stem")
        {
            Description = "imagenet or cifar (default: cifar for inputs of 64 px or less).",
        };
        public readonly Option<int> Classes = new Option<int>("--num-classes")
        {
            Description = "Classifier outputs.",
            DefaultValueFactory = _ => 1000,
        }.Check(v => v >= 1, "must be at least 1");
        public readonly Option<MemoryOptions> Memory = Spike.MemoryOption(
            "standard (all float32), lean (bit-packed spikes, fp16 state, BN-neuron fusion, conv-BN recomputation) or min (lean plus recomputed segments of blocks), optionally with overrides (lean,state=bf16)."
        );
        public readonly Option<string?> State = new("--state")
        {
            Description = "Override the saved neuron state dtype: fp32, bf16 or fp16.",
        };
        public readonly Option<bool> Json = new("--json") { Description = "Print a JSON object." };

        public void AddTo(Command c)
        {
            foreach (
                var o in new Option[] { Model, T, Batch, Input, Stem, Classes, Memory, State, Json }
            )
                c.Options.Add(o);
        }

        public (string Name, ModelOptions Options, int C, int H, int W) Parse(ParseResult r)
        {
            var (c, h, w) = ParseInput(r.GetValue(Input)!);
            var stem = r.GetValue(Stem)?.ToLowerInvariant() switch
            {
                null => h <= 64 ? Models.Stem.Cifar : Models.Stem.ImageNet,
                "imagenet" => Models.Stem.ImageNet,
                "cifar" => Models.Stem.Cifar,
                var s => throw new UsageException($"--stem: expected imagenet or cifar, got '{s}'"),
            };
            var memory = r.GetValue(Memory);
            if (r.GetValue(State) is { } state)
            {
                try
                {
                    memory = memory with { StateDType = MemoryOptions.ParseStateDType(state) };
                }
                catch (ArgumentException)
                {
                    throw new UsageException(
                        $"--state: expected fp32, bf16 or fp16, got '{state}'"
                    );
                }
            }
            var options = new ModelOptions
            {
                NumClasses = r.GetValue(Classes),
                InChannels = c,
                Stem = stem,
                Neuron = () => new LifNode(tau: 2f),
                Memory = memory,
            };
            return (r.GetValue(Model)!, options, c, h, w);
        }
    }

    private static (int, int, int) ParseInput(string text)
    {
        var parts = text.Split('x');
        var dims = new int[3];
        if (
            parts.Length != 3
            || !parts
                .Select(
                    (p, i) =>
                        int.TryParse(
                            p,
                            NumberStyles.None,
                            CultureInfo.InvariantCulture,
                            out dims[i]
                        )
                        && dims[i] > 0
                )
                .All(ok => ok)
        )
            throw new UsageException(
                $"--input: expected CxHxW with positive sizes (e.g. 3x224x224), got '{text}'"
            );
        return (dims[0], dims[1], dims[2]);
    }

    /// <summary>Peak resident set of this process (VmHWM of /proc/self/status), or -1 where unavailable.</summary>
    public static long PeakRssBytes()
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path))
            return -1;
        foreach (var line in File.ReadLines(path))
        {
            if (!line.StartsWith("VmHWM:", StringComparison.Ordinal))
                continue;
            var kb = line["VmHWM:".Length..].Trim().Split(' ')[0];
            return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
        }
        return -1;
    }

    /// <summary>A model, its optimizer and a fixed batch: one CPU training step at a time.</summary>
    private sealed class StepRunner : IDisposable
    {
        private readonly Tensor _x; // (T, N, C, H, W)
        private readonly Tensor _labels; // (N) int32
        private readonly Sgd _sgd;

        public StepRunner(
            string name,
            ModelOptions options,
            int t,
            int n,
            int c,
            int h,
            int w,
            Device? device = null
        )
        {
            var dev = device ?? Device.Cpu;
            Model = ModelRegistry.Create(name, options);
            Model.To(dev);
            _sgd = new Sgd(Model.NamedParameters(), momentum: 0.9f);
            // The image repeated over T (direct encoding), so LIF neurons see a steady input.
            using (var img = Tensor.Normal([n, c, h, w], 0f, 1f, seed: 7))
            {
                var one = img.ToArray();
                var all = new float[(long)t * one.Length];
                for (var s = 0; s < t; s++)
                    one.CopyTo(all, (long)s * one.Length);
                _x = TensorScope.Unscoped(Tensor.FromArray(all, [t, n, c, h, w], device: dev));
            }
            var labels = new int[n];
            for (var i = 0; i < n; i++)
                labels[i] = i % options.NumClasses;
            _labels = TensorScope.Unscoped(Tensor.FromInt32(labels, [n], dev));
        }

        public Layer Model { get; }

        /// <summary>
        /// Forward (CE on the time-mean of the logits), backward and an SGD update. When
        /// <paramref name="report"/> is given it receives what the forward saved for backward;
        /// with <paramref name="forwardOnly"/> backward and the update are skipped.
        /// </summary>
        public float Step(Action<SavedBytesReport>? report = null, bool forwardOnly = false)
        {
            using var scope = TensorScope.Begin();
            Model.ResetState();
            Model.ZeroGrad();
            float lossValue;
            using (var rec = report is null ? null : GraphRecorder.Start())
            {
                var y = Model.Forward(_x);
                var loss = Ops.CrossEntropy(y.Mean([0]), _labels);
                if (rec is not null)
                {
                    var names = Model
                        .NamedModules()
                        .ToDictionary(m => (object)m.Module, m => m.Name);
                    report!(
                        SavedBytesReport.Build(
                            rec,
                            Model.Parameters(),
                            o =>
                                o is not null && names.TryGetValue(o, out var s) && s.Length > 0
                                    ? s
                                    : "(other)"
                        )
                    );
                }
                lossValue = loss.Item();
                if (!forwardOnly)
                {
                    loss.Backward();
                    _sgd.Step(0.01f);
                    // Reading an updated weight waits for the device's queued work, so a timed
                    // step ends when its update has landed (a no-op wait on the CPU).
                    _ = Model.Parameters().First().ToArray();
                }
            }
            return lossValue;
        }

        public void Dispose()
        {
            _sgd.Dispose();
            Model.Dispose();
            _x.Dispose();
            _labels.Dispose();
        }
    }

    // -- memory ---------------------------------------------------------------------------------

    private static Command BuildMemory(TextWriter stdout)
    {
        var a = new ModelArgs();
        var forwardOnly = new Option<bool>("--forward-only")
        {
            Description =
                "Run the forward pass only (the saved tensors are the same; the peak then excludes backward).",
        };
        var cmd = new Command(
            "memory",
            "One CPU training step: bytes saved for backward per layer and in total, against the generic float32 layout (12 B per conv-BN-neuron unit), and the peak memory."
        );
        var peakLive = new Option<bool>("--peak-live")
        {
            Description =
                "Also list what is live at the step's peak, by the code that allocated it (slow: a stack per allocation).",
        };
        var budget = Spike.MemoryBudgetOption();
        a.AddTo(cmd);
        cmd.Options.Add(forwardOnly);
        cmd.Options.Add(peakLive);
        cmd.Options.Add(budget);
        cmd.SetAction(r =>
        {
            var (name, options, c, h, w) = a.Parse(r);
            int t = r.GetValue(a.T),
                n = r.GetValue(a.Batch);
            if (
                Spike.ChooseBudget(r.GetValue(budget), name, options, (c, h, w), t, n) is { } chosen
            )
                options = options with { Memory = chosen.Plan };
            var predicted = ModelInfo.PredictSavedBytes(name, options, (c, h, w), t, n);
            var fwdOnly = r.GetValue(forwardOnly);
            using var runner = new StepRunner(name, options, t, n, c, h, w);
            var stats = MemoryStats.For(Device.Cpu);
            stats.ResetPeak();
            var baseline = stats.CurrentBytes;
            SavedBytesReport? report = null;
            var tracker = r.GetValue(peakLive) ? PeakTracker.Start(Device.Cpu) : null;
            var sw = Stopwatch.StartNew();
            try
            {
                runner.Step(rep => report = rep, fwdOnly);
            }
            finally
            {
                tracker?.Dispose();
            }
            sw.Stop();
            var peak = stats.PeakBytes;
            var live = tracker?.AtPeakByOrigin() ?? [];
            var rss = PeakRssBytes();
            var memory = options.Memory.ToString();
            if (r.GetValue(a.Json))
            {
                var obj = new Dictionary<string, object>
                {
                    ["model"] = name,
                    ["memory"] = memory,
                    ["t"] = t,
                    ["batch"] = n,
                    ["input"] = $"{c}x{h}x{w}",
                    ["forward_only"] = fwdOnly,
                    ["saved_bytes"] = report!.SavedBytes,
                    ["predicted_saved_bytes"] = predicted,
                    ["generic_bytes"] = report.GenericBytes,
                    ["ratio"] = Math.Round(report.Ratio, 4),
                    ["peak_bytes"] = peak,
                    ["model_bytes"] = baseline,
                    ["peak_rss_bytes"] = rss,
                    ["step_ms"] = Math.Round(sw.Elapsed.TotalMilliseconds, 1),
                    ["peak_live"] = live.Select(e => new Dictionary<string, object>
                    {
                        ["origin"] = e.Origin,
                        ["bytes"] = e.Bytes,
                        ["count"] = e.Count,
                    }),
                    ["layers"] = report.Rows.Select(row => new Dictionary<string, object>
                    {
                        ["layer"] = row.Layer,
                        ["ops"] = row.Ops,
                        ["saved_bytes"] = row.SavedBytes,
                        ["generic_bytes"] = row.GenericBytes,
                    }),
                };
                Spike.WriteJson(stdout, obj);
                return Spike.Success;
            }
            stdout.WriteLine(
                $"{name} T={t} batch={n} input={c}x{h}x{w} memory={memory}{(fwdOnly ? " (forward only)" : "")}"
            );
            stdout.WriteLine(
                "generic: the float32 layout of PyTorch eager with a fused multi-step neuron keeping H only (12 B per conv-BN-neuron unit; docs/memory.md)"
            );
            stdout.WriteLine(
                $"{"layer", -28} {"ops", -28} {"saved", 12} {"generic", 12} {"ratio", 6}"
            );
            foreach (var row in report!.Rows)
            {
                if (row.SavedBytes == 0 && row.GenericBytes == 0)
                    continue;
                var ratio = row.GenericBytes == 0 ? 0 : (double)row.SavedBytes / row.GenericBytes;
                stdout.WriteLine(
                    $"{row.Layer, -28} {row.Ops, -28} {Mib(row.SavedBytes), 12} {Mib(row.GenericBytes), 12} {ratio, 6:F3}"
                );
            }
            stdout.WriteLine(
                $"{"total", -28} {"", -28} {Mib(report.SavedBytes), 12} {Mib(report.GenericBytes), 12} {report.Ratio, 6:F3}"
            );
            stdout.WriteLine(
                $"predicted by the shape-only walk (spike models --memory {memory}): {Mib(predicted)} ({predicted} B; measured {report.SavedBytes} B)"
            );
            stdout.WriteLine(
                $"peak of the step: {Mib(peak)} (MemoryStats; model, gradients and optimizer state {Mib(baseline)} before the step); process peak RSS {Mib(rss)}; {sw.Elapsed.TotalSeconds:F1} s"
            );
            if (tracker is not null)
            {
                stdout.WriteLine("live at the peak, by the code that allocated it:");
                foreach (var (origin, bytes, count) in live)
                    stdout.WriteLine($"{Mib(bytes), 12} {count, 5}  {origin}");
            }
            return Spike.Success;
        });
        return cmd;
    }

    private static string Mib(long bytes) =>
        (bytes / (1024.0 * 1024.0)).ToString("F1", CultureInfo.InvariantCulture) + " MiB";

    // -- step -----------------------------------------------------------------------------------

    private static Command BuildStep(TextWriter stdout)
    {
        var a = new ModelArgs();
        var steps = new Option<int>("--steps")
        {
            Description = "Measured steps (after one warm-up step).",
            DefaultValueFactory = _ => 5,
        }.Check(v => v >= 1, "must be at least 1");
        var device = DeviceOptions.Create();
        var profile = new Option<bool>("--profile")
        {
            Description =
                "Also time the CPU backend per op kind (conv fwd / bwd-data / bwd-weights, BN, neuron, pooling, GEMM, elementwise, loss, optimizer, allocation) and give each one's share of the step and the process CPU time per step.",
        };
        var cmd = new Command(
            "step",
            "Time whole training steps (forward, CE on the time-mean, backward, SGD momentum): median and min, images/s, peak memory."
        );
        a.AddTo(cmd);
        cmd.Options.Add(steps);
        cmd.Options.Add(device);
        cmd.Options.Add(profile);
        cmd.SetAction(r =>
        {
            var dev = DeviceOptions.Resolve(r.GetValue(device)!);
            var (name, options, c, h, w) = a.Parse(r);
            int t = r.GetValue(a.T),
                n = r.GetValue(a.Batch),
                s = r.GetValue(steps);
            using var runner = new StepRunner(name, options, t, n, c, h, w, dev);
            runner.Step(); // warm-up: allocator cache, BLAS, JIT, kernel loading
            var stats = MemoryStats.For(dev);
            stats.ResetPeak();
            var profiling = r.GetValue(profile);
            OpProfile.Reset();
            OpProfile.Enabled = profiling;
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var times = new double[s];
            for (var i = 0; i < s; i++)
            {
                var sw = Stopwatch.StartNew();
                runner.Step();
                times[i] = sw.Elapsed.TotalMilliseconds;
            }
            OpProfile.Enabled = false;
            var cpuPerStep =
                (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds / s;
            var prof = profiling ? ProfileOf(times.Sum() / 1000.0 / s, cpuPerStep, s) : null;
            Array.Sort(times);
            var median = s % 2 == 1 ? times[s / 2] : 0.5 * (times[s / 2 - 1] + times[s / 2]);
            var ips = n / (median / 1000.0);
            var peak = stats.PeakBytes;
            var rss = PeakRssBytes();
            if (r.GetValue(a.Json))
            {
                var obj = new Dictionary<string, object>
                {
                    ["model"] = name,
                    ["memory"] = options.Memory.ToString(),
                    ["device"] = dev.ToString(),
                    ["t"] = t,
                    ["batch"] = n,
                    ["input"] = $"{c}x{h}x{w}",
                    ["steps"] = s,
                    ["median_step_ms"] = Math.Round(median, 2),
                    ["min_step_ms"] = Math.Round(times[0], 2),
                    ["images_per_s"] = Math.Round(ips, 2),
                    ["peak_bytes"] = peak,
                    ["peak_rss_bytes"] = rss,
                };
                if (prof is not null)
                {
                    obj["cpu_s_per_step"] = Math.Round(cpuPerStep, 3);
                    obj["profile"] = prof.ToDictionary(
                        p => p.Name,
                        p =>
                            (object)
                                new Dictionary<string, object>
                                {
                                    ["ms_per_step"] = Math.Round(p.Ms, 2),
                                    ["share"] = Math.Round(p.Share, 4),
                                    ["cpu_ms_per_step"] = Math.Round(p.CpuMs, 2),
                                    ["cpu_share"] = Math.Round(p.CpuShare, 4),
                                    ["calls_per_step"] = Math.Round(p.Calls, 1),
                                }
                    );
                }
                Spike.WriteJson(stdout, obj);
                return Spike.Success;
            }
            stdout.WriteLine(
                $"{name} T={t} batch={n} input={c}x{h}x{w} {dev}: median {median:F1} ms, min {times[0]:F1} ms over {s} steps, {ips:F2} images/s; peak {Mib(peak)} (MemoryStats), process peak RSS {Mib(rss)}"
            );
            if (prof is not null)
            {
                stdout.WriteLine(
                    $"profile (mean of {s} steps; process CPU time {cpuPerStep:F2} s per step):"
                );
                stdout.WriteLine(
                    $"  {"op", -18} {"ms/step", 10} {"share", 7} {"cpu ms/step", 12} {"cpu share", 9} {"calls/step", 11}"
                );
                foreach (var p in prof)
                    stdout.WriteLine(
                        $"  {p.Name, -18} {p.Ms, 10:F1} {p.Share, 7:P1} {p.CpuMs, 12:F1} {p.CpuShare, 9:P1} {p.Calls, 11:F0}"
                    );
            }
            return Spike.Success;
        });
        return cmd;
    }

    // Per op kind: ms and calls per step and the share of the mean step; "other" is the rest of
    // the step (autograd bookkeeping, density scans, work outside the backend).
    private static List<ProfileRow> ProfileOf(double stepSeconds, double cpuSeconds, int steps)
    {
        var rows = OpProfile
            .Totals()
            .Select(k => new ProfileRow(
                OpProfile.Name(k.Kind),
                k.Seconds * 1000 / steps,
                k.Seconds / steps / stepSeconds,
                k.CpuSeconds * 1000 / steps,
                k.CpuSeconds / steps / cpuSeconds,
                k.Calls / (double)steps
            ))
            .ToList();
        var rest = stepSeconds * 1000 - rows.Sum(x => x.Ms);
        var cpuRest = cpuSeconds * 1000 - rows.Sum(x => x.CpuMs);
        rows.Add(
            new ProfileRow(
                "other",
                rest,
                rest / 1000 / stepSeconds,
                cpuRest,
                cpuRest / 1000 / cpuSeconds,
                0
            )
        );
        rows.Add(new ProfileRow("step", stepSeconds * 1000, 1, cpuSeconds * 1000, 1, 1));
        return rows;
    }

    private sealed record ProfileRow(
        string Name,
        double Ms,
        double Share,
        double CpuMs,
        double CpuShare,
        double Calls
    );

    // -- neuron ---------------------------------------------------------------------------------

    private static Command BuildNeuron(TextWriter stdout)
    {
        var t = new Option<int>("--T")
        {
            Description = "Time steps.",
            DefaultValueFactory = _ => 4,
        }.Check(v => v >= 1, "must be at least 1");
        var neurons = new Option<int>("--neurons")
        {
            Description = "Neurons per step.",
            DefaultValueFactory = _ => 1 << 22,
        }.Check(v => v >= 1, "must be at least 1");
        var json = new Option<bool>("--json") { Description = "Print a JSON object." };
        var device = DeviceOptions.Create();
        var cmd = new Command(
            "neuron",
            "The fused LIF scan: forward and forward+backward ns per neuron-step and the ratio to copy bandwidth on the same device."
        );
        foreach (var o in new Option[] { t, neurons, json, device })
            cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            var dev = DeviceOptions.Resolve(r.GetValue(device)!);
            var res = NeuronBench.Run(r.GetValue(t), r.GetValue(neurons), device: dev);
            if (r.GetValue(json))
            {
                var obj = new Dictionary<string, object>
                {
                    ["device"] = dev.ToString(),
                    ["t"] = res.T,
                    ["neurons"] = res.Neurons,
                    ["fwd_ns_per_neuron_step"] = Math.Round(res.ForwardNs, 4),
                    ["fwd_bwd_ns_per_neuron_step"] = Math.Round(res.ForwardBackwardNs, 4),
                    ["fwd_gbps"] = Math.Round(res.ForwardGBps, 2),
                    ["fwd_bwd_gbps"] = Math.Round(res.ForwardBackwardGBps, 2),
                    ["copy_gbps"] = Math.Round(res.CopyGBps, 2),
                    ["fwd_copy_ratio"] = Math.Round(res.ForwardCopyRatio, 3),
                    ["fwd_bwd_copy_ratio"] = Math.Round(res.ForwardBackwardCopyRatio, 3),
                };
                Spike.WriteJson(stdout, obj);
                return Spike.Success;
            }
            stdout.WriteLine(res.ToString());
            return Spike.Success;
        });
        return cmd;
    }
}
