using System.Diagnostics;
using SpikeEngine.Data;
using SpikeEngine.Distributed;
using SpikeEngine.Nn;
using SpikeEngine.Training.Checkpoints;
using SpikeEngine.Training.Metrics;
using SpikeEngine.Training.Optim;

namespace SpikeEngine.Training;

/// <summary>Live progress of the running epoch, reported after every step.</summary>
public readonly record struct StepProgress(
    int Epoch,
    int Epochs,
    int Step,
    int StepsPerEpoch,
    double Loss,
    double Accuracy,
    double ImagesPerSecond,
    TimeSpan Eta,
    float LearningRate
);

/// <summary>Evaluation result: top-1, top-5 (null for ≤ 5 classes), mean loss, firing rates.</summary>
public sealed record EvalResult(
    double Top1,
    double? Top5,
    double Loss,
    int Samples,
    Dictionary<string, double> FiringRates
);

/// <summary>What a run did: the epochs' metrics and the last checkpoint.</summary>
public sealed record TrainResult(
    IReadOnlyList<EpochMetrics> Epochs,
    string? LastCheckpoint,
    bool Stopped
);

/// <summary>
/// Runs epochs of training with evaluation, metrics, plots and checkpoints. Deterministic for a
/// given seed: initialisation, data order, augmentation and encoding are all keyed by the seed
/// and the position (epoch, step), and the CPU kernels reduce in a fixed order, so a run resumed
/// from a checkpoint reproduces the uninterrupted run.
/// </summary>
public sealed class Trainer
{
    private readonly TrainerOptions _o;

    public Trainer(TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _o = options;
    }

    /// <summary>Called after every training step.</summary>
    public Action<StepProgress>? OnStep { get; init; }

    /// <summary>Called after every epoch with its metrics.</summary>
    public Action<EpochMetrics>? OnEpoch { get; init; }

    /// <summary>Called with the path of every checkpoint written.</summary>
    public Action<string>? OnCheckpoint { get; init; }

    /// <summary>
    /// Called with a warning that does not stop training (curves.png cannot be drawn because the
    /// plotting library's native part is missing); standard error when null.
    /// </summary>
    public Action<string>? OnWarning { get; init; }

    private bool _plotsOff;

    public string MetricsPath => Path.Combine(_o.OutputDirectory, "metrics.jsonl");
    public string PlotPath => Path.Combine(_o.OutputDirectory, "curves.png");
    public string CheckpointDirectory => Path.Combine(_o.OutputDirectory, "checkpoints");

    /// <summary>
    /// Trains <paramref name="model"/>. With <paramref name="resumeFrom"/> = "latest" it continues
    /// from the newest checkpoint in the run folder (refusing a corrupt one); with a path, from
    /// that checkpoint.
    /// </summary>
    public TrainResult Run(
        Module model,
        IDataset train,
        IDataset test,
        string? resumeFrom = null,
        CancellationToken cancel = default
    )
    {
        ArgumentNullException.ThrowIfNull(model);
        if (train.NumClasses != test.NumClasses)
            throw new ArgumentException(
                $"train set has {train.NumClasses} classes, test set {test.NumClasses}"
            );
        var group = _o.ProcessGroup;
        // Only rank 0 writes the run folder; every rank reads it (resume).
        bool writer = group is null || group.Rank == 0;
        Directory.CreateDirectory(_o.OutputDirectory);
        var store = new CheckpointStore(CheckpointDirectory, _o.Keep);
        using var loader = new DataLoader(
            train,
            new DataLoaderOptions
            {
                BatchSize = _o.BatchSize,
                Shuffle = true,
                Seed = _o.Seed,
                Workers = _o.Workers,
                Prefetch = 2,
                ShardIndex = group?.Rank ?? 0,
                ShardCount = group?.Size ?? 1,
            }
        );
        int steps = loader.StepsPerEpoch;
        long totalSteps = (long)steps * _o.Epochs;
        ILrSchedule schedule = _o.Schedule switch
        {
            "cosine" => new CosineSchedule(
                _o.LearningRate,
                totalSteps,
                Math.Min(_o.WarmupSteps, totalSteps)
            ),
            "step" => new StepSchedule(_o.LearningRate, (long)steps * _o.StepEpochs, _o.StepGamma),
            _ => throw new ArgumentException(
                $"--schedule '{_o.Schedule}' is unknown; expected cosine or step"
            ),
        };
        // Parameters, buffers and (lazily) optimizer state live on the run's device from here on;
        // on the CPU this moves nothing.
        model.ZeroGrad();
        model.To(_o.Device);
        using var optimizer = Optim.Optimizer.Create(
            _o.Optimizer,
            model,
            _o.WeightDecay,
            _o.Momentum,
            _o.Nesterov
        );

        int startEpoch = 0,
            startStep = 0;
        long globalStep = 0;
        double lossSum = 0;
        long correct = 0,
            seen = 0;
        int skipped = 0,
            batches = 0;
        var history = new List<EpochMetrics>();
        if (resumeFrom is not null)
        {
            var ckpt =
                resumeFrom == "latest" ? store.LoadLatest() : CheckpointStore.Load(resumeFrom);
            Restore(model, optimizer, ckpt);
            var s = ckpt.State;
            if (
                _o.ModelName.Length > 0
                && s.Run.TryGetValue("model", out var m)
                && m != _o.ModelName
            )
                throw new CheckpointException(
                    $"checkpoint '{ckpt.SidecarPath}' is of model '{m}', not '{_o.ModelName}'"
                );
            (startEpoch, startStep, globalStep) = (s.Epoch, s.StepInEpoch, s.GlobalStep);
            (lossSum, correct, seen, skipped, batches) = (
                s.LossSum,
                s.Correct,
                s.Seen,
                s.SkippedSteps,
                s.Batches
            );
            // Epochs logged after this checkpoint are redone; drop their lines.
            history = MetricsLog.Read(MetricsPath).Where(e => e.Epoch <= startEpoch).ToList();
            if (writer)
                MetricsLog.Write(MetricsPath, history);
            // The checkpoint's partial sums are over all ranks: rank 0 carries them.
            if (!writer)
                (lossSum, correct, seen, skipped) = (0, 0, 0, 0);
        }
        else if (writer && File.Exists(MetricsPath))
        {
            File.Delete(MetricsPath);
        }
        // Data parallel: rank 0's weights everywhere, gradient buckets hooked into backward.
        using var ddp = group is null
            ? null
            : new DistributedDataParallel(group, model, _o.DataParallel);
        DataParallel = ddp;

        var sampleSize = train.Shape.Size;
        float[]? host = null;
        var mem = MemoryStats.For(_o.Device);
        string? last = null;
        for (int epoch = startEpoch; epoch < _o.Epochs; epoch++)
        {
            mem.ResetPeak();
            var clock = Stopwatch.StartNew();
            long imagesThisRun = 0;
            model.Train();
            int first = epoch == startEpoch ? startStep : 0;
            if (first == 0)
            {
                (lossSum, correct, seen, skipped, batches) = (0, 0, 0, 0, 0);
            }
            float lr = schedule.LearningRate(globalStep);
            foreach (var batch in loader.Epoch(epoch, first))
            {
                cancel.ThrowIfCancellationRequested();
                if (_o.StopAfterSteps > 0 && globalStep >= _o.StopAfterSteps)
                    return new TrainResult(history, last, Stopped: true);
                int n = batch.Count;
                lr = schedule.LearningRate(globalStep);
                using (var scope = TensorScope.Begin())
                {
                    var x = Encode(
                        batch.Images,
                        n,
                        sampleSize,
                        train.Shape,
                        _o.Encoder,
                        globalStep,
                        _o.TimeSteps,
                        _o.Device,
                        ref host
                    );
                    var y = Tensor.FromInt32(batch.Labels.ToArray(), [n], _o.Device);
                    model.ResetState();
                    var output = model.Forward(x);
                    var loss = Losses.Compute(output, y, _o.Loss, _o.LabelSmoothing);
                    float lossValue = loss.Item();
                    loss.Backward();
                    ddp?.FinishGradients();
                    var bad = Gradients.FirstNonFinite(optimizer.Parameters);
                    if (bad is not null || !float.IsFinite(lossValue))
                    {
                        if (_o.NonFinite == NonFinitePolicy.Stop)
                        {
                            var what = bad is { } b
                                ? $"the gradient of parameter '{b.Name}' is non-finite (element {b.Index} = {b.Value})"
                                : "the loss is non-finite";
                            throw new NonFiniteException(
                                $"epoch {epoch + 1}, step {batch.Step + 1} (global step {globalStep + 1}): {what}; loss = {lossValue}. "
                                    + "Lower --lr, set --clip-grad, or pass --nonfinite skip to skip such steps"
                            );
                        }
                        skipped++;
                    }
                    else
                    {
                        if (_o.ClipGradNorm is { } clip)
                            Gradients.ClipByNorm(optimizer.Parameters, clip);
                        optimizer.Step(lr);
                        lossSum += lossValue * n;
                        correct += CountCorrect(output, y, topK: 1);
                        seen += n;
                    }
                    model.ZeroGrad();
                    model.DetachState();
                }
                batches++;
                globalStep++;
                imagesThisRun += n;
                int done = batch.Step + 1;
                double ips = imagesThisRun / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                long remainingImages =
                    (long)(steps - done) * _o.BatchSize
                    + (long)(_o.Epochs - epoch - 1) * steps * _o.BatchSize;
                OnStep?.Invoke(
                    new StepProgress(
                        epoch + 1,
                        _o.Epochs,
                        done,
                        steps,
                        seen > 0 ? lossSum / seen : double.NaN,
                        seen > 0 ? (double)correct / seen : 0,
                        ips,
                        TimeSpan.FromSeconds(remainingImages / Math.Max(ips, 1e-9)),
                        lr
                    )
                );
                if (_o.CheckpointEvery > 0 && globalStep % _o.CheckpointEvery == 0 && done < steps)
                {
                    var (gl, gc, gs, gk) = SumOverRanks(group, lossSum, correct, seen, skipped);
                    if (writer)
                        last = SaveCheckpoint(
                            store,
                            model,
                            optimizer,
                            schedule,
                            new RunPosition(epoch, done, globalStep, gl, gc, gs, gk, batches)
                        );
                }
            }
            double trainSeconds = clock.Elapsed.TotalSeconds;
            (lossSum, correct, seen, skipped) = SumOverRanks(
                group,
                lossSum,
                correct,
                seen,
                skipped
            );
            imagesThisRun *= group?.Size ?? 1;
            ddp?.BroadcastBuffers();
            var eval = Evaluate(model, test, _o.Evaluation, group);
            var metrics = new EpochMetrics
            {
                Epoch = epoch + 1,
                TrainLoss = seen > 0 ? lossSum / seen : double.NaN,
                TrainAcc = seen > 0 ? (double)correct / seen : 0,
                TestAcc = eval.Top1,
                TestTop5 = eval.Top5,
                TestLoss = eval.Loss,
                ImagesPerS = imagesThisRun / Math.Max(trainSeconds, 1e-9),
                PeakBytes = mem.PeakBytes,
                FiringRates = eval.FiringRates,
                SkippedSteps = skipped,
                Lr = lr,
                EpochSeconds = clock.Elapsed.TotalSeconds,
            };
            history.Add(metrics);
            if (writer)
            {
                MetricsLog.Write(MetricsPath, history);
                SavePlot(history);
                last = SaveCheckpoint(
                    store,
                    model,
                    optimizer,
                    schedule,
                    RunPosition.EpochStart(epoch + 1, globalStep)
                );
            }
            OnEpoch?.Invoke(metrics);
        }
        return new TrainResult(history, last, Stopped: false);
    }

    // The curves are a convenience: a machine without the plotting library's native part (SkiaSharp
    // needs libfontconfig.so.1) trains on, with the metrics in metrics.jsonl and one warning.
    private void SavePlot(IReadOnlyList<EpochMetrics> history)
    {
        if (_plotsOff)
            return;
        try
        {
            CurvePlot.Save(PlotPath, history, _o.ModelName);
        }
        catch (Exception e) when (CurvePlot.MissingNativeLibrary(e) is { } why)
        {
            _plotsOff = true;
            (OnWarning ?? Console.Error.WriteLine)(
                $"warning: {PlotPath} is not drawn for this run: {why}. The metrics are in {MetricsPath}; "
                    + "install the missing library for plots (Debian: apt-get install libfontconfig1)."
            );
        }
    }

    /// <summary>The data-parallel layer of the running <see cref="Run"/> (null on one process); its <see cref="DistributedDataParallel.Stats"/> stay readable after the run.</summary>
    public DistributedDataParallel? DataParallel { get; private set; }

    // The epoch's running sums over every rank (the local values on one process).
    private static (double LossSum, long Correct, long Seen, int Skipped) SumOverRanks(
        IProcessGroup? group,
        double lossSum,
        long correct,
        long seen,
        int skipped
    )
    {
        if (group is null)
            return (lossSum, correct, seen, skipped);
        Span<double> v = [lossSum, correct, seen, skipped];
        group.AllReduce(v, ReduceOp.Sum);
        return (v[0], (long)v[1], (long)v[2], (int)v[3]);
    }

    /// <summary>Where a run stands, with the partial-epoch sums a resumed run needs.</summary>
    private readonly record struct RunPosition(
        int Epoch,
        int StepInEpoch,
        long GlobalStep,
        double LossSum,
        long Correct,
        long Seen,
        int Skipped,
        int Batches
    )
    {
        /// <summary>The start of <paramref name="epoch"/>: no partial sums.</summary>
        public static RunPosition EpochStart(int epoch, long globalStep) =>
            new(epoch, 0, globalStep, 0, 0, 0, 0, 0);
    }

    private string SaveCheckpoint(
        CheckpointStore store,
        Module model,
        Optimizer optimizer,
        ILrSchedule schedule,
        RunPosition at
    )
    {
        var run = new Dictionary<string, string>(_o.Run)
        {
            ["T"] = _o.TimeSteps.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (_o.ModelName.Length > 0)
            run["model"] = _o.ModelName;
        var state = new CheckpointState
        {
            Epoch = at.Epoch,
            StepInEpoch = at.StepInEpoch,
            GlobalStep = at.GlobalStep,
            Optimizer = optimizer.Kind,
            OptimizerSteps = optimizer.StepCount,
            OptimizerHyperParameters = optimizer.HyperParameters.ToDictionary(),
            Schedule = schedule.Describe(),
            Seed = _o.Seed,
            LossSum = at.LossSum,
            Correct = at.Correct,
            Seen = at.Seen,
            SkippedSteps = at.Skipped,
            Batches = at.Batches,
            Memory = _o.Memory,
            Run = run,
        };
        var path = store.Save(state, model.NamedTensors(), optimizer.NamedState());
        OnCheckpoint?.Invoke(path);
        return path;
    }

    /// <summary>Copies checkpointed parameters, buffers and optimizer state into the live objects.</summary>
    public static void Restore(Module model, Optimizer? optimizer, Checkpoint ckpt)
    {
        LoadWeights(model, ckpt.Model, ckpt.SidecarPath);
        if (optimizer is null)
            return;
        if (ckpt.State.Optimizer != optimizer.Kind)
            throw new CheckpointException(
                $"checkpoint '{ckpt.SidecarPath}' was trained with optimizer '{ckpt.State.Optimizer}', this run uses '{optimizer.Kind}'"
            );
        optimizer.LoadState(
            ckpt.State.OptimizerSteps,
            ckpt.OptimizerState.ToDictionary(a => a.Name, a => (a.Shape, a.Data))
        );
    }

    /// <summary>Loads named arrays into the model's parameters and buffers; every tensor must be present with its shape.</summary>
    public static void LoadWeights(Module model, IReadOnlyList<NamedArray> arrays, string file) =>
        ModuleFiles.CopyInto(model, arrays, file);

    /// <summary>Top-1/top-5 accuracy, mean loss and firing rates on <paramref name="dataset"/> in eval mode.</summary>
    /// <remarks>
    /// With <paramref name="group"/> (data-parallel training) each rank evaluates its shard of the
    /// dataset, each sample once, and the sums are all-reduced: every rank returns the result over
    /// the whole dataset.
    /// </remarks>
    public static EvalResult Evaluate(
        Module model,
        IDataset dataset,
        EvalOptions options,
        IProcessGroup? group = null
    )
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        var (batchSize, timeSteps, encoder, workers, device, lossKind) = options;
        using var loader = new DataLoader(
            dataset,
            new DataLoaderOptions
            {
                BatchSize = batchSize,
                Shuffle = false,
                Workers = workers,
                Prefetch = 2,
                ShardIndex = group?.Rank ?? 0,
                ShardCount = group?.Size ?? 1,
                PadShards = false,
            }
        );
        model.To(device);
        model.Eval();
        using var noGrad = GradMode.NoGrad();
        float[]? host = null;
        long top1 = 0,
            top5 = 0,
            seen = 0;
        double lossSum = 0;
        var rates = new Dictionary<string, double>();
        int rateBatches = 0;
        foreach (var batch in loader.Epoch(0))
        {
            using var scope = TensorScope.Begin();
            int n = batch.Count;
            var x = Encode(
                batch.Images,
                n,
                dataset.Shape.Size,
                dataset.Shape,
                encoder,
                batch.Step,
                timeSteps,
                device,
                ref host
            );
            var y = Tensor.FromInt32(batch.Labels.ToArray(), [n], device);
            model.ResetState();
            var output = model.Forward(x);
            lossSum += Losses.Compute(output, y, lossKind).Item() * n;
            var hits = Accuracy.CountCorrect(output, y, dataset.NumClasses > 5 ? [1, 5] : [1]);
            top1 += hits[0];
            if (dataset.NumClasses > 5)
                top5 += hits[1];
            seen += n;
            foreach (var (k, v) in FiringStats.Collect(model))
                rates[k] = rates.GetValueOrDefault(k) + v;
            rateBatches++;
        }
        model.ResetState();
        model.Train();
        if (group is not null)
        {
            var keys = rates.Keys.Order(StringComparer.Ordinal).ToList();
            var sums = new double[5 + keys.Count];
            (sums[0], sums[1], sums[2], sums[3], sums[4]) = (
                top1,
                top5,
                seen,
                lossSum,
                rateBatches
            );
            for (int i = 0; i < keys.Count; i++)
                sums[5 + i] = rates[keys[i]];
            group.AllReduce(sums, ReduceOp.Sum);
            (top1, top5, seen, lossSum, rateBatches) = (
                (long)sums[0],
                (long)sums[1],
                (long)sums[2],
                sums[3],
                (int)sums[4]
            );
            for (int i = 0; i < keys.Count; i++)
                rates[keys[i]] = sums[5 + i];
        }
        foreach (var k in rates.Keys.ToList())
            rates[k] /= rateBatches;
        return new EvalResult(
            seen > 0 ? (double)top1 / seen : 0,
            dataset.NumClasses > 5 ? (double)top5 / Math.Max(seen, 1) : null,
            seen > 0 ? lossSum / seen : double.NaN,
            (int)seen,
            rates
        );
    }

    // Encodes a batch into the reused host buffer and uploads it: the same path on every device.
    private static Tensor Encode(
        ReadOnlySpan<float> images,
        int n,
        int sampleSize,
        SampleShape shape,
        ISpikeEncoder encoder,
        long key,
        int t,
        Device device,
        ref float[]? host
    )
    {
        var step = encoder.StepShape(shape, t);
        var length = checked(t * n * step.Size);
        if (host is null || host.Length < length)
            host = new float[length];
        var values = host.AsSpan(0, length);
        encoder.Encode(images, n, sampleSize, t, values, key);
        var x = Tensor.Empty([t, n, step.Channels, step.Height, step.Width], device);
        x.CopyFrom(values);
        return x;
    }

    /// <summary>Samples whose label (int32, on the output's device) is among the top-k classes of the output summed over T (see <see cref="Accuracy.CountCorrect"/>).</summary>
    public static long CountCorrect(Tensor output, Tensor labels, int topK) =>
        Accuracy.CountCorrect(output, labels, topK)[0];
}
