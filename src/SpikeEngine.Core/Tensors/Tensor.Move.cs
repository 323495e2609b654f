namespace SpikeEngine;

public sealed partial class Tensor
{
    /// <summary>
    /// Moves float32/int32 tensors (a model's parameters and buffers) to <paramref name="device"/>
    /// in place: each keeps its identity, so modules holding it see the new storage. Tensors
    /// already on <paramref name="device"/> are left alone (on a CPU-only run this is a no-op).
    /// Gradients must be cleared first. The copy goes through the host.
    /// </summary>
    public static void MoveInPlace(IEnumerable<Tensor> tensors, Device device)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        IBackend? target = null;
        foreach (var t in tensors)
        {
            t.ThrowIfDisposed("MoveInPlace");
            if (t.Device == device)
                continue;
            if (t.Grad is not null)
                throw new InvalidOperationException(
                    $"MoveInPlace: {t.Describe()} still holds a gradient; call ZeroGrad first"
                );
            if (t.DType is not (DType.Float32 or DType.Int32))
                throw new ArgumentException(
                    $"MoveInPlace: only float32 and int32 tensors move, {t.Describe()} is {t.DType.Name()}"
                );
            target ??= Backends.For(device);
            var host = new float[t.Numel];
            t.Backend.CopyToHost(t, host);
            var storage = target.Allocate(t.DType, t.Numel, zero: false);
            using (var staging = new Tensor(storage, t.Shape, 0, register: false))
            {
                storage.Retain();
                target.CopyFromHost(host, staging);
            }
            t.ReplaceStorage(storage);
        }
    }
}
