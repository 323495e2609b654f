using System.CommandLine;
using System.Globalization;
using SpikeEngine.Data;
using SpikeEngine.Models;
using SpikeEngine.Nir;
using SpikeEngine.Training;
using SpikeEngine.Training.Checkpoints;

namespace SpikeEngine.Cli;

/// <summary><c>spike nir export|import|run</c>: NIR graphs (docs/nir.md).</summary>
public static class NirCommand
{
    public static Command Build(TextWriter stdout)
    {
        var cmd = new Command(
            "nir",
            "Export a checkpoint to a NIR graph, import a NIR graph as a checkpoint, or simulate a graph."
        );
        cmd.Subcommands.Add(Export(stdout));
        cmd.Subcommands.Add(Import(stdout));
        cmd.Subcommands.Add(Run(stdout));
        return cmd;
    }

    private static Option<double> Dt(bool required) =>
        new Option<double>("--dt")
        {
            Description = required
                ? "Seconds per time step of the forward-Euler simulation."
                : "Seconds per engine time step (export: default 0.001; import: default the dt recorded in the graph).",
            Required = required,
            DefaultValueFactory = _ => required ? 0 : double.NaN,
        }.Check(
            v => double.IsNaN(v) || (v > 0 && double.IsFinite(v)),
            "must be a positive number of seconds"
        );

    private static Command Export(TextWriter stdout)
    {
        var checkpoint = new Option<string>("--checkpoint")
        {
            Description = "Checkpoint sidecar (.json) or model .safetensors.",
            Required = true,
        };
        var output = new Option<string>("--out")
        {
            Description = "NIR file to write.",
            Required = true,
        };
        var dt = Dt(required: false);
        var cmd = new Command(
            "export",
            "Write a trained checkpoint as a NIR graph (BN folded into convolutions, neurons as LIF/IF for --dt)."
        );
        foreach (var o in new Option[] { checkpoint, output, dt })
            cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            var ckpt = CheckpointStore.Load(r.GetValue(checkpoint)!);
            var name = CliModels.RunValue(ckpt, "model");
            using var net = CliModels.FromCheckpoint(ckpt, out var dims);
            net.Eval();
            var step = double.IsNaN(r.GetValue(dt)) ? 1e-3 : r.GetValue(dt);
            var graph = NirExport.Export(net, dims, step);
            NirFile.Write(r.GetValue(output)!, graph);
            stdout.WriteLine(
                $"{name} ({ckpt.SidecarPath}) → {r.GetValue(output)}: {graph.Nodes.Count} nodes, {graph.Edges.Count} edges, dt {step.ToString("G6", CultureInfo.InvariantCulture)} s"
            );
            return Spike.Success;
        });
        return cmd;
    }

    private static Command Import(TextWriter stdout)
    {
        var graphArg = new Argument<string>("GRAPH") { Description = "NIR file (.nir)." };
        var output = new Option<string>("--out")
        {
            Description = "Checkpoint folder to write (the graph is copied into it).",
            Required = true,
        };
        var dt = Dt(required: false);
        var dataset = new Option<string?>("--dataset")
        {
            Description = "Dataset recorded for 'spike eval' (e.g. mnist).",
        };
        var steps = new Option<int>("--T")
        {
            Description = "Time steps recorded for 'spike eval'.",
            DefaultValueFactory = _ => 4,
        }.Check(v => v >= 1, "must be at least 1");
        var cmd = new Command(
            "import",
            "Read a NIR graph into a checkpoint that 'spike eval' runs; 'spike train --model nir:GRAPH' fine-tunes a graph."
        );
        cmd.Arguments.Add(graphArg);
        foreach (var o in new Option[] { output, dt, dataset, steps })
            cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            var path = r.GetValue(graphArg)!;
            var graph = NirFile.Read(path);
            var step = NirImport.ResolveDt(
                graph,
                double.IsNaN(r.GetValue(dt)) ? null : r.GetValue(dt),
                path
            );
            graph.Metadata["dt"] = new NirArray([], [step], false);
            var dir = Path.GetFullPath(r.GetValue(output)!);
            var copy = Path.Combine(dir, "graph.nir");
            using var model = new NirModel(graph, step);
            NirFile.Write(copy, graph);
            var inShape = model.InputShape();
            var runInfo = new Dictionary<string, string>
            {
                ["model"] = NirImport.Prefix + copy,
                ["num_classes"] = Numel(model.OutputShape()).ToString(CultureInfo.InvariantCulture),
                ["input"] = string.Join(
                    'x',
                    inShape.Length == 3 ? inShape : [Numel(inShape), 1, 1]
                ),
                ["T"] = r.GetValue(steps).ToString(CultureInfo.InvariantCulture),
                ["encoder"] = "direct",
                ["seed"] = "1",
                ["nir_dt"] = step.ToString("R", CultureInfo.InvariantCulture),
            };
            if (r.GetValue(dataset) is { } ds)
                runInfo["dataset"] = ds;
            var sidecar = new CheckpointStore(dir).Save(
                new CheckpointState
                {
                    Epoch = 0,
                    StepInEpoch = 0,
                    GlobalStep = 0,
                    Optimizer = "none",
                    OptimizerSteps = 0,
                    Schedule = "none",
                    Seed = 1,
                    Run = runInfo,
                },
                model.NamedTensors(),
                []
            );
            stdout.WriteLine(
                $"{path} → {sidecar}: {graph.Nodes.Count} nodes, {graph.Edges.Count} edges, {model.ParameterCount():N0} parameters, dt {step.ToString("G6", CultureInfo.InvariantCulture)} s"
            );
            return Spike.Success;
        });
        return cmd;
    }

    private static Command Run(TextWriter stdout)
    {
        var graphArg = new Argument<string>("GRAPH") { Description = "NIR file (.nir)." };
        var dt = Dt(required: true);
        var input = new Option<string>("--input")
        {
            Description = "CSV, one row per time step: the flattened input.",
            Required = true,
        };
        var output = new Option<string>("--out")
        {
            Description =
                "CSV to write: a header, then one row per step (input, output, membranes).",
            Required = true,
        };
        var recordV = new Option<bool>("--record-v")
        {
            Description =
                "Append every neuron node's membrane potential (after reset) to each row.",
        };
        var cmd = new Command(
            "run",
            "Simulate a NIR graph on the engine with batch 1, one row per time step."
        );
        cmd.Arguments.Add(graphArg);
        foreach (var o in new Option[] { dt, input, output, recordV })
            cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            var graph = NirFile.Read(r.GetValue(graphArg)!);
            using var model = new NirModel(graph, r.GetValue(dt));
            var rows = NirImport.Run(
                model,
                NirImport.ReadCsv(r.GetValue(input)!),
                r.GetValue(recordV)
            );
            NirImport.WriteCsv(
                r.GetValue(output)!,
                NirImport.Header(model, r.GetValue(recordV)),
                rows
            );
            stdout.WriteLine($"{r.GetValue(graphArg)}: {rows.Count} steps → {r.GetValue(output)}");
            return Spike.Success;
        });
        return cmd;
    }

    private static int Numel(int[] shape) => shape.Aggregate(1, (a, b) => a * b);
}
