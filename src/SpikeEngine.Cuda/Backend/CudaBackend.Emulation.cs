namespace SpikeEngine.Cuda;

// cuBLAS and cuDNN are vendor libraries with no CPU build: under the CPU emulation
// (SPIKEENGINE_CUDA_EMULATE=1) their calls run on the CPU backend, over host copies of the
// operands, and the outputs are copied back. Everything else in this backend runs as on a GPU.
public sealed unsafe partial class CudaBackend
{
    private static IBackend HostBackend => Backends.For(Device.Cpu);

    /// <summary>Runs <paramref name="call"/> on the CPU backend with host copies of <paramref name="inputs"/> and <paramref name="output"/>, then writes the output back.</summary>
    private void OnHost(Tensor[] inputs, Tensor output, Action<Tensor[], Tensor> call)
    {
        LibraryCall(() =>
        {
            using var scope = TensorScope.Begin();
            var hostInputs = inputs.Select(t => t.To(Device.Cpu)).ToArray();
            var hostOutput = output.To(Device.Cpu);
            call(hostInputs, hostOutput);
            CopyFromHost(hostOutput.ToArray(), output);
        });
    }
}
