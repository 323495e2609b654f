using System.Diagnostics;
using SpikeEngine.Cuda;
using SpikeEngine.Cuda.Interop;

namespace SpikeEngine.Distributed.Nccl;

/// <summary>
/// A process group over NCCL for CUDA tensors: one communicator per process and device (one GPU
/// per rank), collectives enqueued on the CUDA backend's stream (the null stream), so they order
/// with the kernels before and after them without host synchronisation. The communicator's
/// unique id goes from rank 0 to the others through a bootstrap group (MPI), or through a file in
/// a folder every rank sees when MPI is absent. Host collectives (metrics) go through the
/// bootstrap group when there is one, else through a staging tensor on the device.
/// </summary>
public sealed class NcclProcessGroup : IProcessGroup
{
    private readonly IntPtr _comm;
    private readonly IProcessGroup? _bootstrap;
    private readonly Device _device;
    private bool _broken;
    private bool _disposed;

    private unsafe NcclProcessGroup(
        ncclUniqueId id,
        int rank,
        int size,
        Device device,
        TimeSpan timeout,
        IProcessGroup? bootstrap
    )
    {
        (Rank, Size, _device, Timeout, _bootstrap) = (rank, size, device, timeout, bootstrap);
        // The backend makes the device's context current on this thread.
        Backends.For(device);
        IntPtr comm;
        Nccl.Check(Nccl.ncclCommInitRank(&comm, size, id, rank));
        _comm = comm;
    }

    /// <summary>
    /// Creates the group for <paramref name="device"/> with the unique id broadcast over
    /// <paramref name="bootstrap"/> (which also carries host collectives; the group owns it).
    /// </summary>
    public static unsafe NcclProcessGroup Create(
        IProcessGroup bootstrap,
        Device device,
        TimeSpan timeout
    )
    {
        ArgumentNullException.ThrowIfNull(bootstrap);
        RequireNccl(device);
        var id = default(ncclUniqueId);
        if (bootstrap.Rank == 0)
            Nccl.Check(Nccl.ncclGetUniqueId(&id));
        var bytes = new Span<byte>(id.Internal, ncclUniqueId.Bytes);
        bootstrap.Broadcast(bytes, root: 0);
        return new NcclProcessGroup(id, bootstrap.Rank, bootstrap.Size, device, timeout, bootstrap);
    }

    /// <summary>
    /// Creates the group without MPI: rank 0 writes the unique id to
    /// <c><paramref name="folder"/>/nccl-id</c> (atomically), the others wait for it up to the timeout.
    /// The folder must be fresh for each run (a stale id from an earlier run would be read).
    /// </summary>
    public static unsafe NcclProcessGroup CreateWithFile(
        string folder,
        int rank,
        int size,
        Device device,
        TimeSpan timeout
    )
    {
        if (size < 1 || rank < 0 || rank >= size)
            throw new ArgumentOutOfRangeException(
                nameof(rank),
                rank,
                $"NcclProcessGroup: rank {rank} of {size} is invalid"
            );
        RequireNccl(device);
        var path = Path.Combine(folder, "nccl-id");
        var id = default(ncclUniqueId);
        var bytes = new Span<byte>(id.Internal, ncclUniqueId.Bytes);
        if (rank == 0)
        {
            Nccl.Check(Nccl.ncclGetUniqueId(&id));
            Directory.CreateDirectory(folder);
            var part = path + $".{Environment.ProcessId}.part";
            File.WriteAllBytes(part, bytes.ToArray());
            File.Move(part, path, overwrite: true);
        }
        else
        {
            var clock = Stopwatch.StartNew();
            while (!File.Exists(path))
            {
                if (clock.Elapsed > timeout)
                    throw new RankLostException(
                        $"lost rank 0 of {size}: no NCCL id in '{path}' within {timeout.TotalSeconds:0.###} s (--collective-timeout)"
                    );
                Thread.Sleep(50);
            }
            File.ReadAllBytes(path).AsSpan(0, ncclUniqueId.Bytes).CopyTo(bytes);
        }
        return new NcclProcessGroup(id, rank, size, device, timeout, bootstrap: null);
    }

    private static void RequireNccl(Device device)
    {
        if (device.Kind != DeviceKind.Cuda)
            throw new ArgumentException(
                $"--distributed nccl: needs a CUDA device (--device cuda:N), got {device}"
            );
        if (!NcclLibrary.IsAvailable)
            throw new InvalidOperationException($"--distributed nccl: {NcclLibrary.Describe()}");
    }

    public string Kind => "nccl";
    public int Rank { get; }
    public int Size { get; }
    public TimeSpan Timeout { get; }

    /// <summary>NCCL's version as major.minor.patch.</summary>
    public static unsafe string Version()
    {
        int v;
        Nccl.Check(Nccl.ncclGetVersion(&v));
        return v >= 10000
            ? $"{v / 10000}.{v / 100 % 100}.{v % 100}"
            : $"{v / 1000}.{v / 100 % 10}.{v % 100}";
    }

    public void AllReduce(Span<double> values, ReduceOp op)
    {
        if (_bootstrap is not null)
        {
            _bootstrap.AllReduce(values, op);
            return;
        }
        var f = new float[values.Length];
        for (int i = 0; i < f.Length; i++)
            f[i] = (float)values[i];
        AllReduce(f, op);
        for (int i = 0; i < f.Length; i++)
            values[i] = f[i];
    }

    public void AllReduce(Span<float> values, ReduceOp op)
    {
        if (_bootstrap is not null)
        {
            _bootstrap.AllReduce(values, op);
            return;
        }
        using var t = Tensor.Empty([Math.Max(values.Length, 1)], _device);
        if (values.Length == 0)
            return;
        t.CopyFrom(values);
        AllReduceAsync([t], op, "all-reduce (host values)").Wait();
        Backends.For(_device).CopyToHost(t, values);
    }

    public void Broadcast(Span<byte> values, int root)
    {
        if (_bootstrap is not null)
        {
            _bootstrap.Broadcast(values, root);
            return;
        }
        var f = new float[values.Length];
        for (int i = 0; i < f.Length; i++)
            f[i] = values[i];
        using var t = Tensor.Empty([Math.Max(f.Length, 1)], _device);
        if (f.Length == 0)
            return;
        t.CopyFrom(f);
        Broadcast([t], root);
        Backends.For(_device).CopyToHost(t, f);
        for (int i = 0; i < f.Length; i++)
            values[i] = (byte)f[i];
    }

    public void Barrier()
    {
        if (_bootstrap is not null)
            _bootstrap.Barrier();
        else
            AllReduce(stackalloc float[1], ReduceOp.Sum);
    }

    public CollectiveWork AllReduceAsync(IReadOnlyList<Tensor> tensors, ReduceOp op, string what)
    {
        ThrowIfBroken();
        var clock = Stopwatch.StartNew();
        Nccl.Check(Nccl.ncclGroupStart());
        try
        {
            foreach (var t in tensors)
            {
                var p = Address(t, nameof(AllReduceAsync));
                Nccl.Check(
                    Nccl.ncclAllReduce(
                        p,
                        p,
                        (nuint)t.Numel,
                        ncclDataType_t.ncclFloat32,
                        op == ReduceOp.Mean ? ncclRedOp_t.ncclAvg : ncclRedOp_t.ncclSum,
                        _comm,
                        IntPtr.Zero
                    )
                );
            }
        }
        finally
        {
            Nccl.Check(Nccl.ncclGroupEnd());
        }
        return new NcclWork(this, what, clock);
    }

    public void Broadcast(IReadOnlyList<Tensor> tensors, int root)
    {
        ThrowIfBroken();
        var clock = Stopwatch.StartNew();
        Nccl.Check(Nccl.ncclGroupStart());
        try
        {
            foreach (var t in tensors)
            {
                var p = Address(t, nameof(Broadcast));
                Nccl.Check(
                    Nccl.ncclBroadcast(
                        p,
                        p,
                        (nuint)t.Numel,
                        ncclDataType_t.ncclFloat32,
                        root,
                        _comm,
                        IntPtr.Zero
                    )
                );
            }
        }
        finally
        {
            Nccl.Check(Nccl.ncclGroupEnd());
        }
        new NcclWork(this, $"broadcast from rank {root}", clock).Wait();
    }

    private ulong Address(Tensor t, string op)
    {
        if (t.DType != DType.Float32 || t.Storage is not CudaStorage s || t.Device != _device)
            throw new ArgumentException(
                $"NcclProcessGroup.{op}: tensor {t.Describe()} must be float32 on {_device}"
            );
        return s.Pointer + (ulong)t.DType.ByteCount(t.Offset);
    }

    // Polls the stream until the collective (and the work before it) is done, the communicator
    // reports an asynchronous error, or the timeout passes; then aborts the communicator.
    internal unsafe void WaitFor(string what, Stopwatch clock)
    {
        while (true)
        {
            var r = CudaDriver.cuStreamQuery(IntPtr.Zero);
            if (r == CUresult.CUDA_SUCCESS)
                return;
            if (r != CUresult.CUDA_ERROR_NOT_READY)
                CudaDriver.Check(r, $"cuStreamQuery after NCCL {what}");
            ncclResult_t async;
            Nccl.Check(Nccl.ncclCommGetAsyncError(_comm, &async));
            if (async != ncclResult_t.ncclSuccess && async != ncclResult_t.ncclInProgress)
                Fail(
                    $"NCCL {what} on rank {Rank} of {Size} failed: {async} (a peer rank was lost)"
                );
            if (clock.Elapsed > Timeout)
                Fail(
                    $"NCCL {what} on rank {Rank} of {Size} did not complete within {Timeout.TotalSeconds:0.###} s (--collective-timeout): a rank was lost or hangs"
                );
            Thread.Sleep(0);
        }
    }

    private void Fail(string message)
    {
        _broken = true;
        Nccl.ncclCommAbort(_comm);
        throw new RankLostException(message);
    }

    private void ThrowIfBroken()
    {
        if (_broken)
            throw new RankLostException($"NCCL group of rank {Rank} was aborted after a lost rank");
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        if (!_broken)
            Nccl.ncclCommDestroy(_comm);
        _bootstrap?.Dispose();
    }

    private sealed class NcclWork(NcclProcessGroup group, string what, Stopwatch clock)
        : CollectiveWork
    {
        private TimeSpan? _elapsed;

        public override TimeSpan Elapsed => _elapsed ?? clock.Elapsed;

        public override void Wait()
        {
            if (_elapsed is not null)
                return;
            group.WaitFor(what, clock);
            _elapsed = clock.Elapsed;
        }
    }
}
