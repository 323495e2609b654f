using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SpikeEngine.Data;
using SpikeEngine.Models;
using SpikeEngine.Training;
using SpikeEngine.Training.Checkpoints;

namespace SpikeEngine.Cli;

/// <summary><c>spike eval</c>: test accuracy of a checkpoint.</summary>
public static class EvalCommand
{
    public static Command Build(TextWriter stdout)
    {
        var checkpoint = new Option<string>("--checkpoint")
        {
            Description = "Checkpoint sidecar (.json) or model .safetensors.",
            Required = true,
        };
        var data = new Option<string>("--data")
        {
            Description = "Dataset folder.",
            Required = true,
        };
        var batch = new Option<int>("--batch")
        {
            Description = "Batch size.",
            DefaultValueFactory = _ => 256,
        }.Check(v => v >= 1, "must be at least 1");
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var workers = new Option<int>("--workers")
        {
            Description = "Data loader threads.",
            DefaultValueFactory = _ => 1,
        }.Check(v => v >= 0 && v <= 64, "must be in [0, 64]");
        var cmd = new Command(
            "eval",
            "Evaluate a checkpoint on the test split of its dataset (top-1, top-5 when > 5 classes)."
        );
        foreach (var o in new Option[] { checkpoint, data, batch, json, workers })
            cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            var ckpt = CheckpointStore.Load(r.GetValue(checkpoint)!);
            var run = ckpt.State.Run;
            string Get(string key) => CliModels.RunValue(ckpt, key);
            var name = Get("model");
            using var net = CliModels.FromCheckpoint(ckpt, out var dims);
            var input = new SampleShape(dims[0], dims[1], dims[2]);
            int t = int.Parse(Get("T"), CultureInfo.InvariantCulture);
            var framesRun = run.TryGetValue("frames", out var fr)
                ? int.Parse(fr, CultureInfo.InvariantCulture)
                : 0;
            var test = Datasets.LoadTest(
                Get("dataset"),
                r.GetValue(data)!,
                input.Height,
                framesRun,
                run.GetValueOrDefault("split") == "time" ? FrameSplit.Time : FrameSplit.Number,
                FrameOptions.FromRunInfo(run)
            );
            ISpikeEncoder encoder =
                run.GetValueOrDefault("encoder") == "frames" ? new FrameEncoder()
                : run.GetValueOrDefault("encoder") == "poisson"
                    ? new PoissonEncoder(ulong.Parse(Get("seed"), CultureInfo.InvariantCulture))
                : new DirectEncoder();
            var result = Trainer.Evaluate(
                net,
                test,
                new EvalOptions(r.GetValue(batch), t, encoder, r.GetValue(workers), Device.Cpu)
            );
            if (r.GetValue(json))
            {
                stdout.WriteLine(
                    JsonSerializer.Serialize(
                        new
                        {
                            checkpoint = ckpt.SidecarPath,
                            model = name,
                            samples = result.Samples,
                            top1 = result.Top1,
                            top5 = result.Top5,
                            loss = result.Loss,
                            firing_rates = result.FiringRates,
                        }
                    )
                );
            }
            else
            {
                stdout.WriteLine(
                    $"{name} ({ckpt.SidecarPath}): {result.Samples} test samples, top-1 {100 * result.Top1:F2}%"
                        + (result.Top5 is { } t5 ? $", top-5 {100 * t5:F2}%" : "")
                        + $", loss {result.Loss:F4}"
                );
            }
            return Spike.Success;
        });
        return cmd;
    }
}
