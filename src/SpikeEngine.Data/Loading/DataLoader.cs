using System.Runtime.ExceptionServices;

namespace SpikeEngine.Data;

/// <summary>
/// Batches a dataset for training or evaluation.
/// <para>
/// Determinism: the visiting order of epoch e is a permutation that depends only on
/// (Seed, e) — Fisher–Yates driven by <see cref="SampleRandom"/> — and each sample's
/// augmentation draws from the stream of (Seed, e, index). So batch k of epoch e is the same
/// whatever the worker count, and <see cref="StartAt"/>(e, k) resumes a run exactly where it stopped.
/// </para>
/// <para>
/// Prefetch: <see cref="DataLoaderOptions.Workers"/> threads claim steps in increasing order,
/// fill a free buffer each and hand it over; at most <see cref="DataLoaderOptions.Prefetch"/>
/// batches exist besides the one the consumer holds, which bounds memory. Batches reach the
/// consumer in step order. A reader exception is rethrown by <see cref="TryGetNext"/> at the step
/// it belongs to. <see cref="Dispose"/> stops and joins the workers.
/// </para>
/// </summary>
public sealed class DataLoader : IDisposable
{
    private readonly IDataset _dataset;
    private readonly DataLoaderOptions _options;
    private readonly Thread[] _threads;
    private readonly object _gate = new();
    private readonly Stack<Batch> _free = new();
    private readonly Dictionary<int, (Batch? Batch, ExceptionDispatchInfo? Error)> _ready = new();

    // Guarded by _gate.
    private int[] _order = [];
    private int _epoch;
    private int _nextToClaim;
    private int _nextToDeliver;
    private int _endStep;
    private int _generation;
    private bool _started;
    private bool _disposed;
    private Batch? _held;

    public DataLoader(IDataset dataset, DataLoaderOptions options)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (dataset.Count == 0)
            throw new ArgumentException("DataLoader: the dataset is empty", nameof(dataset));
        _dataset = dataset;
        _options = options;
        SampleShape = dataset.Shape.Validated(nameof(dataset));
        SamplesPerEpoch = ShardLength(
            dataset.Count,
            options.ShardIndex,
            options.ShardCount,
            options.PadShards
        );
        StepsPerEpoch = options.DropLast
            ? SamplesPerEpoch / options.BatchSize
            : (SamplesPerEpoch + options.BatchSize - 1) / options.BatchSize;
        if (StepsPerEpoch == 0)
            throw new ArgumentException(
                $"DataLoader: BatchSize {options.BatchSize} (DropLast {options.DropLast}) leaves no batch of shard {options.ShardIndex} of {options.ShardCount} ({SamplesPerEpoch} of {dataset.Count} samples)",
                nameof(options)
            );
        // Prefetch ready batches plus the one the consumer holds; one buffer when synchronous.
        int buffers = options.Workers == 0 ? 1 : options.Prefetch + 1;
        for (int i = 0; i < buffers; i++)
            _free.Push(new Batch(options.BatchSize, SampleShape));
        _threads = new Thread[options.Workers];
        for (int i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(WorkerLoop)
            {
                IsBackground = true,
                Name = $"SpikeEngine.Data loader {i}",
            };
            _threads[i].Start();
        }
    }

    /// <summary>Batches per epoch (the last may be partial unless DropLast).</summary>
    public int StepsPerEpoch { get; }

    /// <summary>Samples this loader visits per epoch (its shard's length).</summary>
    public int SamplesPerEpoch { get; }

    /// <summary>Shape (C, H, W) of each sample.</summary>
    public SampleShape SampleShape { get; }

    public DataLoaderOptions Options => _options;

    public IDataset Dataset => _dataset;

    /// <summary>Number of worker threads still running (0 after <see cref="Dispose"/>).</summary>
    public int LiveWorkers => _threads.Count(t => t.IsAlive);

    /// <summary>
    /// The order in which epoch <paramref name="epoch"/> visits the dataset: a permutation that
    /// depends only on (seed, epoch, count), or the identity without shuffling.
    /// </summary>
    public static int[] EpochOrder(int count, ulong seed, int epoch, bool shuffle)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        var order = new int[count];
        for (int i = 0; i < count; i++)
            order[i] = i;
        if (!shuffle)
            return order;
        var random = new SampleRandom(seed, (ulong)epoch, 0, SampleRandom.PermutationPurpose);
        for (int i = count - 1; i > 0; i--)
        {
            int j = random.NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    /// <summary>Samples of shard <paramref name="index"/> of <paramref name="shards"/> over <paramref name="count"/> (see <see cref="Shard"/>).</summary>
    public static int ShardLength(int count, int index, int shards, bool pad) =>
        shards == 1 ? count
        : pad ? (count + shards - 1) / shards
        : Math.Max(0, (count - index + shards - 1) / shards);

    /// <summary>
    /// Shard <paramref name="index"/> of <paramref name="shards"/> of an epoch order, as PyTorch's
    /// <c>DistributedSampler</c>: positions index, index + shards, …; with <paramref name="pad"/>
    /// the order is first extended by its own first positions to a multiple of
    /// <paramref name="shards"/>, so every shard has the same length.
    /// </summary>
    public static int[] Shard(int[] order, int index, int shards, bool pad)
    {
        ArgumentNullException.ThrowIfNull(order);
        if (shards < 1 || index < 0 || index >= shards)
            throw new ArgumentOutOfRangeException(
                nameof(index),
                index,
                $"DataLoader.Shard: shard {index} of {shards} is invalid"
            );
        if (shards == 1)
            return order;
        if (order.Length == 0)
            return [];
        var length = ShardLength(order.Length, index, shards, pad);
        var shard = new int[length];
        for (int i = 0; i < length; i++)
            shard[i] = order[(int)((index + (long)i * shards) % order.Length)];
        return shard;
    }

    /// <summary>
    /// Begins delivering epoch <paramref name="epoch"/> from step <paramref name="step"/> (0 for a
    /// fresh epoch; k to resume after k finished steps). Batches in flight for an earlier position
    /// are discarded.
    /// </summary>
    public void StartAt(int epoch, int step = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        if (step < 0 || step > StepsPerEpoch)
            throw new ArgumentOutOfRangeException(
                nameof(step),
                step,
                $"DataLoader.StartAt: step must be in [0, {StepsPerEpoch}], got {step}"
            );
        int[] order = Shard(
            EpochOrder(_dataset.Count, _options.Seed, epoch, _options.Shuffle),
            _options.ShardIndex,
            _options.ShardCount,
            _options.PadShards
        );
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ReleaseHeldLocked();
            foreach (var (batch, _) in _ready.Values)
            {
                if (batch is not null)
                    _free.Push(batch);
            }
            _ready.Clear();
            _generation++;
            _order = order;
            _epoch = epoch;
            _nextToClaim = step;
            _nextToDeliver = step;
            _endStep = StepsPerEpoch;
            _started = true;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>
    /// Gets the next batch of the current epoch, or false when the epoch is done. The batch from
    /// the previous call is recycled now. Rethrows a reader's exception for the failing step.
    /// </summary>
    public bool TryGetNext(out Batch batch)
    {
        batch = null!;
        int generation;
        int step;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_started)
                throw new InvalidOperationException(
                    "DataLoader: call StartAt(epoch, step) before reading batches"
                );
            ReleaseHeldLocked();
            if (_nextToDeliver >= _endStep)
                return false;
            step = _nextToDeliver;
            generation = _generation;
            if (_threads.Length > 0)
            {
                while (!_ready.ContainsKey(step) && !_disposed)
                    Monitor.Wait(_gate);
                ObjectDisposedException.ThrowIf(_disposed, this);
                var (ready, error) = _ready[step];
                _ready.Remove(step);
                _nextToDeliver++;
                Monitor.PulseAll(_gate);
                error?.Throw();
                _held = ready!;
                batch = ready!;
                return true;
            }
            // Synchronous mode: fill the single buffer on this thread.
            _nextToClaim = step + 1;
            _nextToDeliver = step + 1;
            batch = _free.Pop();
        }
        try
        {
            Fill(batch, _order, _epoch, step, generation);
        }
        catch
        {
            lock (_gate)
                _free.Push(batch);
            throw;
        }
        lock (_gate)
            _held = batch;
        return true;
    }

    /// <summary>Enumerates the batches of <paramref name="epoch"/> from <paramref name="startStep"/>; each batch is valid until the next one is produced.</summary>
    public IEnumerable<Batch> Epoch(int epoch, int startStep = 0)
    {
        StartAt(epoch, startStep);
        while (TryGetNext(out Batch batch))
            yield return batch;
    }

    /// <summary>Stops and joins the worker threads; safe to call more than once.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
            Monitor.PulseAll(_gate);
        }
        foreach (Thread t in _threads)
            t.Join();
    }

    private void ReleaseHeldLocked()
    {
        if (_held is null)
            return;
        _free.Push(_held);
        _held = null;
        Monitor.PulseAll(_gate);
    }

    private void WorkerLoop()
    {
        while (true)
        {
            Batch batch;
            int step;
            int generation;
            int epoch;
            int[] order;
            lock (_gate)
            {
                while (!_disposed && (!_started || _free.Count == 0 || _nextToClaim >= _endStep))
                    Monitor.Wait(_gate);
                if (_disposed)
                    return;
                batch = _free.Pop();
                step = _nextToClaim++;
                generation = _generation;
                epoch = _epoch;
                order = _order;
            }
            ExceptionDispatchInfo? error = null;
            try
            {
                Fill(batch, order, epoch, step, generation);
            }
            catch (Exception e)
            {
                error = ExceptionDispatchInfo.Capture(e);
            }
            lock (_gate)
            {
                if (generation == _generation && !_disposed)
                {
                    if (error is null)
                        _ready[step] = (batch, null);
                    else
                    {
                        _ready[step] = (null, error);
                        _free.Push(batch);
                    }
                }
                else
                    _free.Push(batch);
                Monitor.PulseAll(_gate);
            }
        }
    }

    private void Fill(Batch batch, int[] order, int epoch, int step, int generation)
    {
        int batchSize = _options.BatchSize;
        int start = step * batchSize;
        int count = Math.Min(batchSize, order.Length - start);
        int size = SampleShape.Size;
        batch.Count = count;
        batch.Epoch = epoch;
        batch.Step = step;
        for (int i = 0; i < count; i++)
        {
            // Abandon a batch nobody will read (StartAt moved on, or the loader is closing).
            if (
                _threads.Length > 0
                && (Volatile.Read(ref _generation) != generation || Volatile.Read(ref _disposed))
            )
                return;
            int index = order[start + i];
            var random = SampleRandom.ForSample(_options.Seed, epoch, index);
            int label = _dataset.ReadSample(
                index,
                batch.ImageBuffer.AsSpan(i * size, size),
                ref random
            );
            batch.LabelBuffer[i] = label;
            batch.IndexBuffer[i] = index;
        }
    }
}
