using SpikeEngine.Cuda.Interop;

namespace SpikeEngine.Cuda;

/// <summary>An ordered queue of device work (<c>CUstream</c>). <see cref="Null"/> is the legacy default stream.</summary>
public sealed unsafe class CudaStream : IDisposable
{
    private readonly CudaStreamHandle? handle;

    private CudaStream(CudaStreamHandle? handle) => this.handle = handle;

    /// <summary>The legacy default stream (handle 0), which synchronises with every other blocking stream.</summary>
    public static CudaStream Null { get; } = new(null);

    /// <summary>The raw <c>CUstream</c> to pass to the driver, cuBLAS and cuDNN.</summary>
    public IntPtr Handle => handle?.DangerousGetHandle() ?? IntPtr.Zero;

    /// <summary>Creates a stream in <paramref name="device"/>'s context (flags: 0 default, 1 non-blocking).</summary>
    public static CudaStream Create(CudaDevice device, uint flags = 0)
    {
        device.MakeCurrent();
        IntPtr s;
        CudaDriver.Check(CudaDriver.cuStreamCreate(&s, flags));
        return new CudaStream(new CudaStreamHandle(device.Context, s));
    }

    /// <summary>Blocks until all work queued on the stream has finished.</summary>
    public void Synchronize() => CudaDriver.Check(CudaDriver.cuStreamSynchronize(Handle));

    /// <summary>Makes later work on this stream wait for <paramref name="e"/>.</summary>
    public void Wait(CudaEvent e) =>
        CudaDriver.Check(CudaDriver.cuStreamWaitEvent(Handle, e.Handle, 0));

    public void Dispose() => handle?.Dispose();
}

/// <summary>A marker in a stream, for ordering and timing (<c>CUevent</c>).</summary>
public sealed unsafe class CudaEvent : IDisposable
{
    private readonly CudaEventHandle handle;

    private CudaEvent(CudaEventHandle handle) => this.handle = handle;

    public IntPtr Handle => handle.DangerousGetHandle();

    /// <summary>Creates an event; <paramref name="timing"/> false makes a cheaper one that can't time.</summary>
    public static CudaEvent Create(CudaDevice device, bool timing = true)
    {
        device.MakeCurrent();
        IntPtr e;
        CudaDriver.Check(CudaDriver.cuEventCreate(&e, timing ? 0u : 2u)); // 2 = CU_EVENT_DISABLE_TIMING
        return new CudaEvent(new CudaEventHandle(device.Context, e));
    }

    public void Record(CudaStream stream) =>
        CudaDriver.Check(CudaDriver.cuEventRecord(Handle, stream.Handle));

    public void Synchronize() => CudaDriver.Check(CudaDriver.cuEventSynchronize(Handle));

    /// <summary>Whether all work before the record has finished.</summary>
    public bool IsComplete()
    {
        var r = CudaDriver.cuEventQuery(Handle);
        if (r == CUresult.CUDA_ERROR_NOT_READY)
        {
            return false;
        }
        CudaDriver.Check(r);
        return true;
    }

    /// <summary>Milliseconds between two recorded, completed events.</summary>
    public static float ElapsedMilliseconds(CudaEvent start, CudaEvent end)
    {
        float ms;
        CudaDriver.Check(CudaDriver.cuEventElapsedTime(&ms, start.Handle, end.Handle));
        return ms;
    }

    public void Dispose() => handle.Dispose();
}
