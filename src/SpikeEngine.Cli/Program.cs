using System.CommandLine;
using SpikeEngine.Cli;

return Spike.Run(args, Console.Out, Console.Error);
