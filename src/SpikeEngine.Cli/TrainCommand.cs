using System.CommandLine;
using System.Globalization;
using SpikeEngine.Data;
using SpikeEngine.Distributed;
using SpikeEngine.Models;
using SpikeEngine.Nn;
using SpikeEngine.Training;

namespace SpikeEngine.Cli;

/// <summary><c>spike train</c>.</summary>
public static class TrainCommand
{
    public static Command Build(TextWriter stdout)
    {
        var model = new Option<string>("--model")
        {
            Description = "Model name (`spike models` lists them), or nir:PATH for a NIR graph.",
            Required = true,
        };
        var dataset = new Option<string>("--dataset")
        {
            Description =
                "mnist, fashion-mnist, cifar10, cifar100, imagefolder, or the event datasets nmnist, dvs-gesture, cifar10-dvs (with --frames).",
            Required = true,
        };
        dataset.AcceptOnlyFromAmong(Datasets.Names);
        var data = new Option<string>("--data")
        {
            Description =
                "Dataset folder (MNIST: data/mnist, fetched by 'dotnet pwsh build.ps1 data').",
            Required = true,
        };
        var t = new Option<int>("--T")
        {
            Description = "Time steps T.",
            DefaultValueFactory = _ => 4,
        }.Check(v => v >= 1, "must be at least 1");
        var epochs = new Option<int>("--epochs")
        {
            Description = "Epochs.",
            DefaultValueFactory = _ => 10,
        }.Check(v => v >= 1, "must be at least 1");
        var batch = new Option<int>("--batch")
        {
            Description = "Batch size.",
            DefaultValueFactory = _ => 64,
        }.Check(v => v >= 1, "must be at least 1");
        var lr = new Option<float>("--lr")
        {
            Description = "Peak learning rate.",
            DefaultValueFactory = _ => 1e-3f,
        }.Check(v => v > 0 && float.IsFinite(v), "must be a positive number");
        var optimizer = new Option<string>("--optimizer")
        {
            Description = "sgd or adamw.",
            DefaultValueFactory = _ => "adamw",
        };
        optimizer.AcceptOnlyFromAmong("sgd", "adamw");
        var wd = new Option<float>("--weight-decay")
        {
            Description = "Weight decay (AdamW: decoupled; SGD: L2).",
            DefaultValueFactory = _ => 0f,
        }.Check(v => v >= 0, "must be ≥ 0");
        var momentum = new Option<float>("--momentum")
        {
            Description = "SGD momentum.",
            DefaultValueFactory = _ => 0.9f,
        }.Check(v => v >= 0 && v < 1, "must be in [0, 1)");
        var nesterov = new Option<bool>("--nesterov")
        {
            Description = "SGD with Nesterov momentum.",
        };
        var schedule = new Option<string>("--schedule")
        {
            Description = "cosine (with linear warm-up) or step.",
            DefaultValueFactory = _ => "cosine",
        };
        schedule.AcceptOnlyFromAmong("cosine", "step");
        var warmup = new Option<int>("--warmup-steps")
        {
            Description = "Linear warm-up steps of the cosine schedule.",
            DefaultValueFactory = _ => 0,
        }.Check(v => v >= 0, "must be ≥ 0");
        var loss = new Option<string>("--loss")
        {
            Description =
                "ce (cross-entropy of the mean over T) or tet (per-step CE averaged over T).",
            DefaultValueFactory = _ => "ce",
        };
        loss.AcceptOnlyFromAmong("ce", "tet");
        var smoothing = new Option<float>("--label-smoothing")
        {
            Description = "Label smoothing ε.",
            DefaultValueFactory = _ => 0f,
        }.Check(v => v >= 0 && v < 1, "must be in [0, 1)");
        var clip = new Option<float?>("--clip-grad")
        {
            Description = "Clip the global gradient norm to this value.",
        }.Check(v => v is null || v > 0, "must be positive");
        var nonfinite = new Option<string>("--nonfinite")
        {
            Description =
                "On NaN/Inf loss or gradient: stop (fail naming the parameter) or skip (skip the step, count it).",
            DefaultValueFactory = _ => "stop",
        };
        nonfinite.AcceptOnlyFromAmong("stop", "skip");
        var encoder = new Option<string>("--encoder")
        {
            Description = "direct (repeat the image over T) or poisson.",
            DefaultValueFactory = _ => "direct",
        };
        encoder.AcceptOnlyFromAmong("direct", "poisson");
        var device = DeviceOptions.Create();
        var outDir = new Option<string?>("--out")
        {
            Description =
                "Run folder: checkpoints/, metrics.jsonl, curves.png (default: a fresh runs/<model>-<dataset>-<n>).",
        };
        var resume = new Option<bool>("--resume")
        {
            Description =
                "Continue from the newest checkpoint in --out (a corrupt one is refused).",
        };
        var resumeFrom = new Option<string?>("--resume-from")
        {
            Description = "Continue from this checkpoint (.json sidecar or .safetensors).",
        };
        var seed = new Option<ulong>("--seed")
        {
            Description = "Seed of initialisation, data order, augmentation and encoding.",
            DefaultValueFactory = _ => 1,
        };
        var keep = new Option<int>("--keep")
        {
            Description = "Checkpoints to keep.",
            DefaultValueFactory = _ => 3,
        }.Check(v => v >= 1, "must be at least 1");
        var every = new Option<int>("--checkpoint-every")
        {
            Description = "Also checkpoint every this many steps (0: epoch ends only).",
            DefaultValueFactory = _ => 0,
        }.Check(v => v >= 0, "must be ≥ 0");
        var workers = new Option<int>("--workers")
        {
            Description = "Data loader threads.",
            DefaultValueFactory = _ => Math.Clamp(Environment.ProcessorCount - 1, 1, 4),
        }.Check(v => v >= 0 && v <= 64, "must be in [0, 64]");
        var imageSize = new Option<int>("--image-size")
        {
            Description = "Image-folder training crop size.",
            DefaultValueFactory = _ => 224,
        }.Check(v => v >= 8, "must be at least 8");
        var memory = Spike.MemoryOption(
            "What the layers save for backward: lean (bit-packed spikes, float16 H, BN-neuron fusion, conv-BN recomputation), standard (float32) or min (lean plus recomputed segments of blocks, exact gradients), optionally with overrides (lean,state=bf16). See docs/memory.md."
        );
        var memoryBudget = Spike.MemoryBudgetOption();
        var frames = new Option<int?>("--frames")
        {
            Description = "Event datasets: frames per sample T (sets --T).",
        }.Check(v => v is null || v >= 1, "must be at least 1");
        var split = new Option<string>("--split")
        {
            Description =
                "Event datasets: split a recording into frames by event number or by time.",
            DefaultValueFactory = _ => "number",
        };
        split.AcceptOnlyFromAmong("number", "time");
        var transform = new EventTransformOptions(jitter: true);
        var stopAfter = new Option<long>("--stop-after-steps")
        {
            Description = "Stop after this many global steps (time-boxed runs, tests).",
            DefaultValueFactory = _ => 0,
        }.Check(v => v >= 0, "must be ≥ 0");

        var distributed = new Option<string>("--distributed")
        {
            Description =
                "Data-parallel training over the processes of an MPI launch (mpiexec -n N spike train ...): mpi (CPU tensors through MPICH) or nccl (one GPU per rank); none trains in this process alone. --batch is per rank. See docs/distributed.md.",
            DefaultValueFactory = _ => "none",
        };
        distributed.AcceptOnlyFromAmong("none", "mpi", "nccl");
        var syncBn = new Option<bool>("--sync-bn")
        {
            Description =
                "With --distributed: batch norm with statistics over every rank's batch (default: each rank's own).",
        };
        var collectiveTimeout = new Option<double>("--collective-timeout")
        {
            Description =
                "With --distributed: seconds a collective may wait before the run fails naming the lost rank.",
            DefaultValueFactory = _ => 600,
        }.Check(v => v > 0 && double.IsFinite(v), "must be a positive number of seconds");
        var bucketMb = new Option<double>("--bucket-mb")
        {
            Description = "With --distributed: MiB of gradients per all-reduce bucket.",
            DefaultValueFactory = _ => 25,
        }.Check(v => v > 0 && double.IsFinite(v), "must be a positive number of MiB");

        var cmd = new Command(
            "train",
            "Train a model; writes checkpoints (safetensors + JSON sidecar), metrics.jsonl and curves.png to --out."
        );
        foreach (
            var o in new Option[]
            {
                model,
                dataset,
                data,
                t,
                epochs,
                batch,
                lr,
                optimizer,
                wd,
                momentum,
                nesterov,
                schedule,
                warmup,
                loss,
                smoothing,
                clip,
                nonfinite,
                encoder,
                device,
                outDir,
                resume,
                resumeFrom,
                seed,
                keep,
                every,
                workers,
                imageSize,
                memory,
                memoryBudget,
                frames,
                split,
                stopAfter,
                distributed,
                syncBn,
                collectiveTimeout,
                bucketMb,
            }
        )
            cmd.Options.Add(o);
        transform.AddTo(cmd);

        cmd.SetAction(r =>
        {
            if (r.GetValue(resume) && r.GetValue(resumeFrom) is not null)
                throw new UsageException("--resume and --resume-from exclude each other");
            var dev = DeviceOptions.Resolve(r.GetValue(device)!);
            var mode = r.GetValue(distributed)!;
            if (mode == "none" && r.GetValue(syncBn))
                throw new UsageException("--sync-bn needs --distributed mpi or nccl");
            if (mode == "nccl" && dev.Kind != DeviceKind.Cuda)
                throw new UsageException(
                    "--distributed nccl needs --device cuda (one GPU per rank); use --distributed mpi on the CPU"
                );
            var modelName = r.GetValue(model)!;
            string canonical;
            try
            {
                canonical = CliModels.Canonical(modelName);
            }
            catch (ArgumentException e)
            {
                throw new UsageException(e.Message);
            }
            var resumeLatest = r.GetValue(resume);
            var outPath = r.GetValue(outDir);
            if (outPath is null && resumeLatest)
                throw new UsageException(
                    "--resume: continues the run in --out, so --out is required"
                );
            var memoryOptions = r.GetValue(memory);
            var dsName = r.GetValue(dataset)!;
            var events = FrameOptions.From(
                dsName,
                r.GetValue(frames),
                r.GetValue(split)!,
                transform.Read(r)
            );
            var (train, test) = Datasets.Load(
                dsName,
                r.GetValue(data)!,
                r.GetValue(imageSize),
                events?.Frames ?? 0,
                events?.Split ?? FrameSplit.Number,
                events?.Transform
            );
            var seedValue = r.GetValue(seed);
            var freshFolder = outPath is null;
            outPath ??= RunFolder.Next("runs", modelName, dsName);
            var stepShape = events is not null
                ? new FrameEncoder().StepShape(train.Shape, events.Frames)
                : train.Shape;
            using var group = DistributedLaunch.CreateGroup(
                mode,
                r.GetValue(device) == "cuda",
                ref dev,
                TimeSpan.FromSeconds(r.GetValue(collectiveTimeout))
            );
            var rankOut = group is null || group.Rank == 0 ? stdout : TextWriter.Null;
            if (
                Spike.ChooseBudget(
                    r.GetValue(memoryBudget),
                    canonical,
                    ModelOptions.ForInput(
                        train.NumClasses,
                        stepShape.Channels,
                        stepShape.Height,
                        seedValue
                    ),
                    (stepShape.Channels, stepShape.Height, stepShape.Width),
                    events?.Frames ?? r.GetValue(t),
                    r.GetValue(batch)
                ) is
                { } chosen
            )
            {
                memoryOptions = chosen.Plan;
                rankOut.WriteLine(
                    $"spike train: --memory-budget {r.GetValue(memoryBudget)} → --memory {chosen.Plan} (predicted saved bytes {MemoryBudget.FormatBytes(chosen.SavedBytes)})"
                );
            }
            var options = new TrainerOptions
            {
                Epochs = r.GetValue(epochs),
                BatchSize = r.GetValue(batch),
                TimeSteps = events?.Frames ?? r.GetValue(t),
                LearningRate = r.GetValue(lr),
                Optimizer = r.GetValue(optimizer)!,
                WeightDecay = r.GetValue(wd),
                Momentum = r.GetValue(momentum),
                Nesterov = r.GetValue(nesterov),
                Schedule = r.GetValue(schedule)!,
                WarmupSteps = r.GetValue(warmup),
                Loss = Losses.Parse(r.GetValue(loss)!),
                LabelSmoothing = r.GetValue(smoothing),
                ClipGradNorm = r.GetValue(clip),
                NonFinite =
                    r.GetValue(nonfinite) == "skip" ? NonFinitePolicy.Skip : NonFinitePolicy.Stop,
                Seed = seedValue,
                OutputDirectory = outPath,
                Keep = r.GetValue(keep),
                CheckpointEvery = r.GetValue(every),
                StopAfterSteps = r.GetValue(stopAfter),
                Encoder =
                    events is not null ? new FrameEncoder()
                    : r.GetValue(encoder) == "poisson" ? new PoissonEncoder(seedValue)
                    : new DirectEncoder(),
                Workers = r.GetValue(workers),
                Device = dev,
                ProcessGroup = group,
                DataParallel = new DataParallelOptions
                {
                    SyncBatchNorm = r.GetValue(syncBn),
                    BucketBytes = (long)(r.GetValue(bucketMb) * (1 << 20)),
                },
                Run = new Dictionary<string, string>
                {
                    ["dataset"] = dsName,
                    ["num_classes"] = train.NumClasses.ToString(CultureInfo.InvariantCulture),
                    ["input"] = $"{stepShape.Channels}x{stepShape.Height}x{stepShape.Width}",
                    ["encoder"] = events is not null ? "frames" : r.GetValue(encoder)!,
                    ["seed"] = seedValue.ToString(CultureInfo.InvariantCulture),
                },
                ModelName = canonical,
                Memory = memoryOptions,
            };
            if (events is not null)
            {
                options.Run["frames"] = events.Frames.ToString(CultureInfo.InvariantCulture);
                options.Run["split"] = r.GetValue(split)!;
                foreach (var (k, v) in events.RunInfo())
                    options.Run[k] = v;
            }
            using var net = CliModels.Create(
                canonical,
                ModelOptions.ForInput(
                    train.NumClasses,
                    stepShape.Channels,
                    stepShape.Height,
                    seedValue,
                    memoryOptions
                ),
                stepShape
            );
            var view = new ProgressView(rankOut, ProgressView.TerminalAttached(rankOut));
            view.Message(
                $"spike train: {canonical} ({net.ParameterCount():N0} parameters) on {dsName} ({train.Count} train / {test.Count} test), T={options.TimeSteps}, batch {options.BatchSize}, {options.Optimizer} lr {options.LearningRate}, {options.Epochs} epochs, {dev}, memory {memoryOptions}, out {options.OutputDirectory}{(freshFolder ? " (a new run folder: no --out given)" : "")}"
                    + (
                        group is null
                            ? ""
                            : $", {group.Size} ranks ({group.Kind}), sync-bn {r.GetValue(syncBn)}"
                    )
            );
            var trainer = new Trainer(options) { OnStep = view.Step, OnEpoch = view.Epoch };
            var resumeArg = resumeLatest ? "latest" : r.GetValue(resumeFrom);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var result = view.Run(() => trainer.Run(net, train, test, resumeArg));
            var lastEpoch = result.Epochs.Count > 0 ? result.Epochs[^1] : null;
            view.Message(
                (result.Stopped ? "stopped" : "done")
                    + $" in {clock.Elapsed.TotalSeconds:F0} s"
                    + (
                        lastEpoch is null
                            ? ""
                            : $"; test acc {100 * lastEpoch.TestAcc:F2}% after epoch {lastEpoch.Epoch}"
                    )
                    + $"; checkpoint {result.LastCheckpoint ?? "(none)"}; metrics {trainer.MetricsPath}; plot {trainer.PlotPath}"
            );
            if (trainer.DataParallel?.Stats is { Steps: > 0 } st)
                view.Message(
                    $"distributed: {group!.Size} ranks ({group.Kind}), {st.Buckets} gradient buckets; per step on rank 0: "
                        + $"all-reduce in flight {1000 * st.InFlightSeconds / st.Steps:F2} ms (sum over buckets), "
                        + $"waited after backward {1000 * st.WaitSeconds / st.Steps:F2} ms"
                );
            return Spike.Success;
        });
        return cmd;
    }
}
