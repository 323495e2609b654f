using System.CommandLine;
using SpikeEngine.Cli;

if (SpikeEngine.Cuda.CudaRuntime.IsAvailable)
    SpikeEngine.Cuda.CudaBackend.Register();
return Spike.Run(args, Console.Out, Console.Error);
