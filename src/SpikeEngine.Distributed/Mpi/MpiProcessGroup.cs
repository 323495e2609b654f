using System.Diagnostics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using MpiApi = MPI.Unsafe;

namespace SpikeEngine.Distributed.Mpi;

/// <summary>
/// A process group over MPI (MPICH through MPI.NET; launch with <c>mpiexec -n N</c>, or run
/// alone as a one-rank group). Tensors are staged through pinned host buffers, so any device
/// works; this is the CPU path.
/// <para>
/// Every collective is non-blocking (<c>MPI_Iallreduce</c>, <c>MPI_Ibcast</c>, <c>MPI_Ibarrier</c>)
/// and started in submission order by one progress thread, which also tests the requests in
/// flight — so a gradient bucket reduces while backward goes on — and answers liveness probes
/// from other ranks on a second communicator. A waiter that passes <see cref="Timeout"/> probes
/// every other rank; those that do not answer within a grace period (or answer from an earlier
/// collective) are named in the <see cref="RankLostException"/>. A broken group never calls
/// <c>MPI_Finalize</c> (it would wait for the lost rank).
/// </para>
/// </summary>
public sealed class MpiProcessGroup : IProcessGroup
{
    private const int ProbeTag = 7101;
    private const int ReplyTag = 7102;

    private static readonly Lock InitGate = new();
    private static MPI.Environment? environment;
    private static int liveGroups;
    private static bool anyBroken;

    private readonly int _comm; // collectives
    private readonly int _ctl; // liveness probes
    private readonly Thread _thread;
    private readonly object _gate = new();
    private readonly Queue<MpiWork> _submitted = new();
    private readonly List<MpiWork> _active = [];
    private readonly List<(int Request, int[] Buffer)> _sends = [];
    private readonly Dictionary<int, Stack<float[]>> _pool = [];
    private readonly int[] _probeIn = GC.AllocateArray<int>(1, pinned: true);
    private int _probeRequest;
    private long _submittedCount;
    private int _waiters;
    private bool _stopping;
    private PingRequest? _ping;
    private volatile string? _broken;
    private bool _disposed;

    private MpiProcessGroup(TimeSpan timeout)
    {
        Timeout = timeout;
        Check(MpiApi.MPI_Comm_dup(MpiApi.MPI_COMM_WORLD, out _comm), "MPI_Comm_dup");
        Check(MpiApi.MPI_Comm_dup(MpiApi.MPI_COMM_WORLD, out _ctl), "MPI_Comm_dup");
        // Errors come back as codes (a failed peer must not abort this process).
        Check(MpiApi.MPI_Errhandler_set(_comm, MpiApi.MPI_ERRORS_RETURN), "MPI_Errhandler_set");
        Check(MpiApi.MPI_Errhandler_set(_ctl, MpiApi.MPI_ERRORS_RETURN), "MPI_Errhandler_set");
        Check(MpiApi.MPI_Comm_rank(_comm, out var rank), "MPI_Comm_rank");
        Check(MpiApi.MPI_Comm_size(_comm, out var size), "MPI_Comm_size");
        (Rank, Size) = (rank, size);
        PostProbeReceive();
        _thread = new Thread(ProgressLoop)
        {
            IsBackground = true,
            Name = $"SpikeEngine.Distributed MPI progress (rank {rank})",
        };
        _thread.Start();
    }

    /// <summary>
    /// Initialises MPI (once per process, <c>MPI_THREAD_MULTIPLE</c>) and returns a group over
    /// all its ranks (<c>MPI_COMM_WORLD</c>, duplicated).
    /// </summary>
    public static MpiProcessGroup Create(TimeSpan timeout)
    {
        if (timeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(
                nameof(timeout),
                timeout,
                $"MpiProcessGroup: timeout must be positive, got {timeout}"
            );
        if (!MpiLibrary.IsAvailable)
            throw new InvalidOperationException($"--distributed mpi: {MpiLibrary.Describe()}");
        MpiLibrary.EnsureResolvers();
        lock (InitGate)
        {
            if (environment is null)
            {
                var args = Array.Empty<string>();
                environment = new MPI.Environment(ref args, MPI.Threading.Multiple);
                if (MPI.Environment.Threading != MPI.Threading.Multiple)
                    throw new InvalidOperationException(
                        $"--distributed mpi: the MPI library gives thread level {MPI.Environment.Threading}, the engine needs Multiple"
                    );
                AppDomain.CurrentDomain.ProcessExit += (_, _) => FinalizeAtExit();
            }
            liveGroups++;
            return new MpiProcessGroup(timeout);
        }
    }

    public string Kind => "mpi";
    public int Rank { get; }
    public int Size { get; }
    public TimeSpan Timeout { get; }

    /// <summary>Collectives submitted so far (all ranks agree on this at every collective).</summary>
    public long CollectiveCount => Interlocked.Read(ref _submittedCount);

    public void AllReduce(Span<double> values, ReduceOp op) =>
        AllReduceHost(values, op, MpiApi.MPI_DOUBLE, "float64");

    public void AllReduce(Span<float> values, ReduceOp op) =>
        AllReduceHost(values, op, MpiApi.MPI_FLOAT, "float32");

    private void AllReduceHost<T>(Span<T> values, ReduceOp op, int type, string typeName)
        where T : unmanaged, System.Numerics.IFloatingPoint<T>
    {
        var buffer = GC.AllocateArray<T>(values.Length, pinned: true);
        var length = values.Length;
        values.CopyTo(buffer);
        Run(
            new MpiWork(
                this,
                $"all-reduce (host, {typeName})",
                comm => StartAllReduce(buffer, length, type, comm),
                null
            )
        );
        if (op == ReduceOp.Mean)
            TensorPrimitives.Divide(buffer, T.CreateChecked(Size), buffer);
        buffer.AsSpan().CopyTo(values);
    }

    public void Broadcast(Span<byte> values, int root)
    {
        CheckRoot(root);
        var buffer = GC.AllocateArray<byte>(values.Length, pinned: true);
        var length = values.Length;
        values.CopyTo(buffer);
        Run(
            new MpiWork(
                this,
                $"broadcast from rank {root} ({length} bytes)",
                comm => StartBroadcast(buffer, length, MpiApi.MPI_BYTE, root, comm),
                null
            )
        );
        buffer.AsSpan().CopyTo(values);
    }

    public void Barrier() =>
        Run(
            new MpiWork(this, "barrier", comm => (MpiNative.MPI_Ibarrier(comm, out var r), r), null)
        );

    public CollectiveWork AllReduceAsync(IReadOnlyList<Tensor> tensors, ReduceOp op, string what)
    {
        var (buffer, total) = Pack(tensors, nameof(AllReduceAsync));
        var work = new MpiWork(
            this,
            what,
            comm => StartAllReduce(buffer, total, MpiApi.MPI_FLOAT, comm),
            () =>
            {
                if (op == ReduceOp.Mean)
                    TensorPrimitives.Multiply(
                        buffer.AsSpan(0, total),
                        1f / Size,
                        buffer.AsSpan(0, total)
                    );
                Unpack(buffer, tensors);
                Return(buffer);
            }
        );
        Submit(work);
        return work;
    }

    public void Broadcast(IReadOnlyList<Tensor> tensors, int root)
    {
        CheckRoot(root);
        var (buffer, total) = Pack(tensors, nameof(Broadcast));
        Run(
            new MpiWork(
                this,
                $"broadcast of {tensors.Count} tensors from rank {root}",
                comm => StartBroadcast(buffer, total, MpiApi.MPI_FLOAT, root, comm),
                () =>
                {
                    if (Rank != root)
                        Unpack(buffer, tensors);
                    Return(buffer);
                }
            )
        );
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
        }
        // A final barrier proves every rank got here; a lost rank skips MPI's teardown.
        if (_broken is null)
        {
            try
            {
                Barrier();
            }
            catch (RankLostException) { }
        }
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
        _thread.Join();
        lock (InitGate)
        {
            liveGroups--;
            if (_broken is not null)
            {
                anyBroken = true;
                return;
            }
        }
        CancelProbeReceive();
        var comm = _comm;
        var ctl = _ctl;
        MpiApi.MPI_Comm_free(ref comm);
        MpiApi.MPI_Comm_free(ref ctl);
    }

    private static void FinalizeAtExit()
    {
        lock (InitGate)
        {
            if (environment is null || anyBroken || liveGroups > 0)
                return;
            environment.Dispose();
            environment = null;
        }
    }

    // ------------------------------------------------------------------------------------------
    // Buffers

    private (float[] Buffer, int Total) Pack(IReadOnlyList<Tensor> tensors, string op)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        long total = 0;
        foreach (var t in tensors)
        {
            if (t.DType != DType.Float32)
                throw new ArgumentException(
                    $"MpiProcessGroup.{op}: tensor {t.Describe()} is {t.DType.Name()}, expected float32"
                );
            total += t.Numel;
        }
        if (total > int.MaxValue)
            throw new ArgumentException(
                $"MpiProcessGroup.{op}: {total} elements exceed one MPI message ({int.MaxValue})"
            );
        var buffer = Rent((int)total);
        int offset = 0;
        foreach (var t in tensors)
        {
            var n = (int)t.Numel;
            Backends.For(t.Device).CopyToHost(t, buffer.AsSpan(offset, n));
            offset += n;
        }
        return (buffer, (int)total);
    }

    private static void Unpack(float[] buffer, IReadOnlyList<Tensor> tensors)
    {
        int offset = 0;
        foreach (var t in tensors)
        {
            var n = (int)t.Numel;
            Backends.For(t.Device).CopyFromHost(buffer.AsSpan(offset, n), t);
            offset += n;
        }
    }

    private float[] Rent(int length)
    {
        lock (_pool)
        {
            if (_pool.TryGetValue(length, out var free) && free.Count > 0)
                return free.Pop();
        }
        return GC.AllocateArray<float>(length, pinned: true);
    }

    private void Return(float[] buffer)
    {
        lock (_pool)
        {
            if (!_pool.TryGetValue(buffer.Length, out var free))
                _pool[buffer.Length] = free = new Stack<float[]>();
            free.Push(buffer);
        }
    }

    private static unsafe (int, int) StartAllReduce<T>(T[] buffer, int count, int type, int comm)
        where T : unmanaged
    {
        fixed (T* p = buffer) // pinned array: the address stays valid after this scope
        {
            var rc = MpiNative.MPI_Iallreduce(
                MpiNative.InPlace,
                (IntPtr)p,
                count,
                type,
                MpiApi.MPI_SUM,
                comm,
                out var request
            );
            return (rc, request);
        }
    }

    private static unsafe (int, int) StartBroadcast<T>(
        T[] buffer,
        int count,
        int type,
        int root,
        int comm
    )
        where T : unmanaged
    {
        fixed (T* p = buffer)
        {
            var rc = MpiNative.MPI_Ibcast((IntPtr)p, count, type, root, comm, out var request);
            return (rc, request);
        }
    }

    private void CheckRoot(int root)
    {
        if (root < 0 || root >= Size)
            throw new ArgumentOutOfRangeException(
                nameof(root),
                root,
                $"MpiProcessGroup: root must be a rank in [0, {Size}), got {root}"
            );
    }

    // ------------------------------------------------------------------------------------------
    // Submission and waiting (caller threads)

    private void Run(MpiWork work)
    {
        Submit(work);
        work.Wait();
    }

    private void Submit(MpiWork work)
    {
        ThrowIfBroken();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            work.Sequence = ++_submittedCount;
            work.Clock.Start();
            _submitted.Enqueue(work);
            Monitor.PulseAll(_gate);
        }
    }

    internal void WaitFor(MpiWork work)
    {
        Interlocked.Increment(ref _waiters);
        try
        {
            lock (_gate)
                Monitor.PulseAll(_gate);
            var remaining = Timeout - work.Clock.Elapsed;
            // A collective that completed while the caller was busy (a bucket during a long
            // backward) counts however long ago it started.
            var done = work.Done.IsSet || remaining > TimeSpan.Zero && work.Done.Wait(remaining);
            if (done && work.Error is null)
            {
                work.Complete?.Invoke();
                return;
            }
            ThrowIfBroken();
            var lost = Ping(work.Sequence);
            var cause = work.Error is { } e
                ? $"failed ({e})"
                : $"did not complete within {Timeout.TotalSeconds:0.###} s (--collective-timeout)";
            var message =
                lost.Count > 0
                    ? $"lost rank {string.Join(", ", lost)} of {Size}: {work.What} (collective #{work.Sequence}) on rank {Rank} {cause}; "
                        + $"rank {string.Join(", ", lost)} did not answer a liveness probe"
                    : $"collective #{work.Sequence} ({work.What}) on rank {Rank} {cause}, yet every rank answers a liveness probe";
            _broken = message;
            throw new RankLostException(message);
        }
        finally
        {
            Interlocked.Decrement(ref _waiters);
        }
    }

    private void ThrowIfBroken()
    {
        if (_broken is { } b)
            throw new RankLostException(b);
    }

    // Asks the progress thread to probe every other rank; returns those that did not answer or
    // that have not yet submitted collective number `sequence` (they never reached it).
    private List<int> Ping(long sequence)
    {
        var request = new PingRequest(Math.Clamp(Timeout.TotalSeconds / 4, 1, 10), sequence);
        lock (_gate)
        {
            _ping = request;
            Monitor.PulseAll(_gate);
        }
        if (!request.Done.Wait(TimeSpan.FromSeconds(request.GraceSeconds + 5)))
            return [.. Enumerable.Range(0, Size).Where(r => r != Rank)];
        return request.Lost;
    }

    // ------------------------------------------------------------------------------------------
    // Progress thread: the only thread that calls MPI after initialisation.

    private void ProgressLoop()
    {
        var started = new List<MpiWork>();
        while (true)
        {
            PingRequest? ping;
            lock (_gate)
            {
                while (_submitted.Count == 0 && _active.Count == 0 && _ping is null && !_stopping)
                    Monitor.Wait(_gate, 2); // wake to answer probes
                if (
                    _stopping
                    && _submitted.Count == 0
                    && (_active.Count == 0 || _broken is not null)
                )
                    return;
                while (_submitted.Count > 0)
                    started.Add(_submitted.Dequeue());
                ping = _ping;
                _ping = null;
            }
            foreach (var w in started)
            {
                var (rc, request) = w.Start(_comm);
                if (rc != 0)
                {
                    w.Fail($"{ErrorString(rc)} starting it");
                    continue;
                }
                w.Request = request;
                _active.Add(w);
            }
            started.Clear();
            for (int i = 0; i < _active.Count; i++)
            {
                var w = _active[i];
                var req = w.Request;
                var rc = MpiApi.MPI_Test(ref req, out var flag, out _);
                w.Request = req;
                if (rc != 0)
                    w.Fail(ErrorString(rc));
                else if (flag != 0)
                    w.Succeed();
                else
                    continue;
                _active.RemoveAt(i--);
            }
            ServeProbes();
            if (ping is not null)
                RunPing(ping);
            if (_active.Count > 0)
            {
                // Spin while a caller waits; otherwise leave the core to backward.
                if (Volatile.Read(ref _waiters) > 0)
                    Thread.Yield();
                else
                    Thread.Sleep(1);
            }
        }
    }

    private unsafe void PostProbeReceive()
    {
        fixed (int* p = _probeIn)
            Check(
                MpiApi.MPI_Irecv(
                    (IntPtr)p,
                    1,
                    MpiApi.MPI_INT,
                    MpiApi.MPI_ANY_SOURCE,
                    ProbeTag,
                    _ctl,
                    out _probeRequest
                ),
                "MPI_Irecv"
            );
    }

    private void CancelProbeReceive()
    {
        MpiApi.MPI_Cancel(ref _probeRequest);
        MpiApi.MPI_Wait(ref _probeRequest, out _);
    }

    // Answers each probe with the number of collectives this rank has submitted.
    private void ServeProbes()
    {
        while (true)
        {
            if (MpiApi.MPI_Test(ref _probeRequest, out var flag, out var status) != 0 || flag == 0)
                break;
            Send(status.MPI_SOURCE, ReplyTag, (int)Interlocked.Read(ref _submittedCount));
            PostProbeReceive();
        }
        for (int i = 0; i < _sends.Count; i++)
        {
            var (req, _) = _sends[i];
            if (MpiApi.MPI_Test(ref req, out var flag, out _) == 0 && flag != 0)
                _sends.RemoveAt(i--);
            else
                _sends[i] = (req, _sends[i].Buffer);
        }
    }

    private unsafe void Send(int destination, int tag, int value)
    {
        var buffer = GC.AllocateArray<int>(1, pinned: true);
        buffer[0] = value;
        fixed (int* p = buffer)
        {
            if (
                MpiApi.MPI_Isend((IntPtr)p, 1, MpiApi.MPI_INT, destination, tag, _ctl, out var r)
                == 0
            )
                _sends.Add((r, buffer));
        }
    }

    private unsafe void RunPing(PingRequest ping)
    {
        var replies = GC.AllocateArray<int>(Size, pinned: true);
        var requests = new int[Size];
        var answered = new bool[Size];
        answered[Rank] = true;
        fixed (int* p = replies)
        {
            for (int r = 0; r < Size; r++)
            {
                if (r == Rank)
                    continue;
                if (
                    MpiApi.MPI_Irecv(
                        (IntPtr)(p + r),
                        1,
                        MpiApi.MPI_INT,
                        r,
                        ReplyTag,
                        _ctl,
                        out requests[r]
                    ) != 0
                )
                    requests[r] = MpiApi.MPI_REQUEST_NULL;
                Send(r, ProbeTag, (int)ping.Sequence);
            }
        }
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < ping.GraceSeconds && answered.Any(a => !a))
        {
            for (int r = 0; r < Size; r++)
            {
                if (answered[r] || requests[r] == MpiApi.MPI_REQUEST_NULL)
                    continue;
                if (MpiApi.MPI_Test(ref requests[r], out var flag, out _) == 0 && flag != 0)
                    answered[r] = true;
            }
            ServeProbes();
            Thread.Sleep(1);
        }
        // A rank that answers from before the stuck collective never reached it.
        ping.Lost =
        [
            .. Enumerable
                .Range(0, Size)
                .Where(r => r != Rank && (!answered[r] || replies[r] < ping.Sequence)),
        ];
        ping.Done.Set();
    }

    private static string ErrorString(int code)
    {
        var text = new byte[MpiApi.MPI_MAX_ERROR_STRING + 1];
        var length = text.Length;
        if (MpiApi.MPI_Error_string(code, text, ref length) != 0)
            return $"MPI error {code}";
        var s = System.Text.Encoding.ASCII.GetString(text, 0, Math.Clamp(length, 0, text.Length));
        return $"MPI error {code}: " + s.ReplaceLineEndings(" ").Trim();
    }

    private static void Check(int rc, string call)
    {
        if (rc != 0)
            throw new InvalidOperationException($"{call} failed: {ErrorString(rc)}");
    }

    private sealed class PingRequest(double graceSeconds, long sequence)
    {
        public double GraceSeconds { get; } = graceSeconds;
        public long Sequence { get; } = sequence;
        public List<int> Lost { get; set; } = [];
        public ManualResetEventSlim Done { get; } = new();
    }
}

/// <summary>One non-blocking MPI collective: started and tested by the progress thread.</summary>
internal sealed class MpiWork(
    MpiProcessGroup group,
    string what,
    Func<int, (int Rc, int Request)> start,
    Action? complete
) : CollectiveWork
{
    public string What { get; } = what;
    public Func<int, (int Rc, int Request)> Start { get; } = start;
    public Action? Complete { get; } = complete;
    public long Sequence { get; set; }
    public int Request { get; set; }
    public Stopwatch Clock { get; } = new();
    public ManualResetEventSlim Done { get; } = new();
    public string? Error { get; private set; }
    private TimeSpan _elapsed;
    private int _waited;

    public override TimeSpan Elapsed => Done.IsSet ? _elapsed : Clock.Elapsed;

    public void Succeed()
    {
        _elapsed = Clock.Elapsed;
        Done.Set();
    }

    public void Fail(string error)
    {
        Error = error;
        _elapsed = Clock.Elapsed;
        Done.Set();
    }

    public override void Wait()
    {
        if (Interlocked.Exchange(ref _waited, 1) == 1)
            return;
        group.WaitFor(this);
    }
}
