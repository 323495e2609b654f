using System.Diagnostics;
using SpikeEngine.Nn;

namespace SpikeEngine.Distributed;

/// <summary>Settings of <see cref="DistributedDataParallel"/>.</summary>
public sealed record DataParallelOptions
{
    /// <summary>Gradient bytes per bucket (PyTorch DDP's 25 MiB); a larger parameter gets a bucket of its own.</summary>
    public long BucketBytes { get; init; } = 25L << 20;

    /// <summary>Normalise batch norm with statistics over every rank's batch (<c>--sync-bn</c>).</summary>
    public bool SyncBatchNorm { get; init; }
}

/// <summary>Communication figures of the steps so far (this rank).</summary>
/// <param name="Steps">Steps whose gradients were reduced.</param>
/// <param name="Buckets">Buckets per step.</param>
/// <param name="InFlightSeconds">Sum over steps and buckets of each all-reduce's time from start to completion.</param>
/// <param name="WaitSeconds">Time the step spent after backward waiting for the last buckets (communication not hidden by backward).</param>
public readonly record struct DataParallelStats(
    long Steps,
    int Buckets,
    double InFlightSeconds,
    double WaitSeconds
);

/// <summary>
/// Data-parallel training over a process group, as PyTorch's <c>DistributedDataParallel</c>:
/// parameters and buffers are broadcast from rank 0 when it is created; gradients are grouped in
/// buckets (reverse parameter order, about the order backward produces them), and each bucket's
/// all-reduce (mean) starts from <see cref="Tensor.OnGradFinal"/> as soon as its last gradient
/// is final — so communication overlaps the rest of backward. <see cref="FinishGradients"/>
/// waits for them after backward; every rank then holds the gradient of the mean loss over all
/// ranks' batches. Buckets start in bucket order on every rank (a bucket that is ready early
/// waits for the ones before it), so all ranks issue the same collectives in the same order.
/// </summary>
public sealed class DistributedDataParallel : IDisposable
{
    private readonly IProcessGroup _group;
    private readonly Module _module;
    private readonly List<Bucket> _buckets = [];
    private readonly Dictionary<Tensor, Bucket> _bucketOf = new(ReferenceEqualityComparer.Instance);
    private readonly List<CollectiveWork> _inFlight = [];
    private int _nextToLaunch;
    private long _steps;
    private double _inFlightSeconds;
    private double _waitSeconds;

    public DistributedDataParallel(
        IProcessGroup group,
        Module module,
        DataParallelOptions? options = null
    )
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(module);
        options ??= new DataParallelOptions();
        if (options.BucketBytes <= 0)
            throw new ArgumentOutOfRangeException(
                nameof(options),
                options.BucketBytes,
                $"DistributedDataParallel: BucketBytes must be positive, got {options.BucketBytes}"
            );
        _group = group;
        _module = module;
        if (options.SyncBatchNorm)
        {
            var sync = new SyncBatchNorm(group);
            foreach (var (_, m) in module.NamedModules())
                if (m is BatchNorm2d bn)
                    bn.Sync = sync;
        }
        BroadcastState();
        var parameters = module.Parameters().Where(p => p.RequiresGrad).Reverse().ToList();
        Bucket? current = null;
        foreach (var p in parameters)
        {
            var bytes = p.Numel * sizeof(float);
            if (current is null || current.Bytes > 0 && current.Bytes + bytes > options.BucketBytes)
            {
                current = new Bucket(_buckets.Count);
                _buckets.Add(current);
            }
            current.Parameters.Add(p);
            current.Bytes += bytes;
            _bucketOf[p] = current;
            p.OnGradFinal = OnGradFinal;
        }
    }

    public IProcessGroup Group => _group;

    /// <summary>Number of gradient buckets.</summary>
    public int BucketCount => _buckets.Count;

    /// <summary>Parameters of bucket <paramref name="index"/>, in launch order.</summary>
    public IReadOnlyList<Tensor> BucketParameters(int index) => _buckets[index].Parameters;

    public DataParallelStats Stats => new(_steps, _buckets.Count, _inFlightSeconds, _waitSeconds);

    /// <summary>Overwrites every parameter and buffer with rank 0's (start, resume).</summary>
    public void BroadcastState() =>
        _group.Broadcast(
            [.. _module.NamedParameters().Select(p => p.Tensor), .. BuffersOf(_module)],
            root: 0
        );

    /// <summary>Overwrites the buffers (BN running statistics) with rank 0's, so evaluation and checkpoints agree.</summary>
    public void BroadcastBuffers()
    {
        var buffers = BuffersOf(_module);
        if (buffers.Count > 0)
            _group.Broadcast(buffers, root: 0);
    }

    private static List<Tensor> BuffersOf(Module m) =>
        [.. m.NamedBuffers().Select(b => b.Tensor).Where(t => t.DType == DType.Float32)];

    private void OnGradFinal(Tensor parameter)
    {
        if (!_bucketOf.TryGetValue(parameter, out var bucket))
            return;
        // A parameter the graph reaches without a gradient (a null input gradient) reduces zeros.
        parameter.Grad ??= TensorScope.Unscoped(
            Tensor.Zeros(parameter.Shape.ToArray(), parameter.Device)
        );
        bucket.Ready++;
        LaunchReady();
    }

    // Starts the ready buckets in bucket order.
    private void LaunchReady()
    {
        while (
            _nextToLaunch < _buckets.Count
            && _buckets[_nextToLaunch].Ready >= _buckets[_nextToLaunch].Parameters.Count
        )
        {
            var b = _buckets[_nextToLaunch++];
            _inFlight.Add(
                _group.AllReduceAsync(
                    [.. b.Parameters.Select(p => p.Grad!)],
                    ReduceOp.Mean,
                    $"gradient bucket {b.Index + 1} of {_buckets.Count}"
                )
            );
        }
    }

    /// <summary>
    /// Completes the step's gradient reduction after backward: gives a zero gradient to any
    /// parameter backward did not reach, starts the remaining buckets, waits for all of them.
    /// </summary>
    public void FinishGradients()
    {
        var clock = Stopwatch.StartNew();
        foreach (var b in _buckets)
        {
            foreach (var p in b.Parameters)
            {
                if (p.Grad is null)
                {
                    p.Grad = TensorScope.Unscoped(Tensor.Zeros(p.Shape.ToArray(), p.Device));
                    if (b.Index >= _nextToLaunch)
                        b.Ready++;
                }
            }
            if (b.Index >= _nextToLaunch)
                b.Ready = b.Parameters.Count;
        }
        LaunchReady();
        foreach (var w in _inFlight)
        {
            w.Wait();
            _inFlightSeconds += w.Elapsed.TotalSeconds;
        }
        _inFlight.Clear();
        foreach (var b in _buckets)
            b.Ready = 0;
        _nextToLaunch = 0;
        _steps++;
        _waitSeconds += clock.Elapsed.TotalSeconds;
    }

    public void Dispose()
    {
        foreach (var p in _bucketOf.Keys)
            p.OnGradFinal = null;
        foreach (var (_, m) in _module.NamedModules())
            if (m is BatchNorm2d { Sync: SyncBatchNorm } bn)
                bn.Sync = null;
    }

    private sealed class Bucket(int index)
    {
        public int Index { get; } = index;
        public List<Tensor> Parameters { get; } = [];
        public long Bytes { get; set; }
        public int Ready { get; set; }
    }
}
