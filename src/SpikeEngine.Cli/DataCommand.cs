using System.CommandLine;
using System.Text;
using SpikeEngine.Data;
using SpikeEngine.Training.Checkpoints;

namespace SpikeEngine.Cli;

/// <summary><c>spike data frames</c>: integrate one event recording into frames (docs/data.md).</summary>
public static class DataCommand
{
    public static Command Build(TextWriter stdout)
    {
        var cmd = new Command("data", "Inspect dataset files.");
        var format = new Option<string>("--format")
        {
            Description = "nmnist (.bin), aedat3 (AEDAT 3.1) or aedat2 (AEDAT 2.0).",
            Required = true,
        };
        format.AcceptOnlyFromAmong("nmnist", "aedat3", "aedat2");
        var file = new Argument<string>("FILE") { Description = "One recording." };
        var frames = new Option<int>("--frames")
        {
            Description = "Number of frames T.",
            Required = true,
        }.Check(v => v >= 1, "must be at least 1");
        var split = new Option<string>("--split")
        {
            Description = "number (N // T events per frame) or time (equal time spans).",
            DefaultValueFactory = _ => "number",
        };
        split.AcceptOnlyFromAmong("number", "time");
        var output = new Option<string>("--out")
        {
            Description = "NumPy .npy file: float32 [T, 2, H, W].",
            Required = true,
        };
        var transform = new EventTransformOptions(jitter: false);
        var framesCmd = new Command(
            "frames",
            "Integrate one recording into T frames [T, 2, H, W] (after --denoise, --crop, --downsample) and write them as .npy."
        );
        framesCmd.Arguments.Add(file);
        foreach (var o in new Option[] { format, frames, split, output })
            framesCmd.Options.Add(o);
        transform.AddTo(framesCmd);
        framesCmd.SetAction(r =>
        {
            var path = r.GetValue(file)!;
            var events = r.GetValue(format) switch
            {
                "nmnist" => EventFormats.ReadNMnist(path),
                "aedat3" => EventFormats.ReadAedat3(path),
                _ => EventFormats.ReadAedat2(path),
            };
            var tr = transform.Read(r);
            if (!tr.IsIdentity)
            {
                tr.Output(events.Width, events.Height);
                var unused = default(SampleRandom);
                events = tr.Apply(events, ref unused);
            }
            int t = r.GetValue(frames);
            var data = FrameIntegration.FixedFrames(
                events,
                t,
                r.GetValue(split) == "time" ? FrameSplit.Time : FrameSplit.Number
            );
            AtomicFile.Write(
                r.GetValue(output)!,
                Npy.Float32(data, [t, 2, events.Height, events.Width])
            );
            stdout.WriteLine(
                $"{path}: {events.Count} events, {events.Width}×{events.Height} → {r.GetValue(output)} [{t}, 2, {events.Height}, {events.Width}]"
            );
            return Spike.Success;
        });
        cmd.Subcommands.Add(framesCmd);
        return cmd;
    }
}

/// <summary>NumPy <c>.npy</c> format version 1.0: magic, header length, a Python-dict header padded to 64 bytes, raw little-endian data.</summary>
public static class Npy
{
    public static byte[] Float32(float[] data, int[] shape)
    {
        var dims = shape.Length == 1 ? $"{shape[0]}," : string.Join(", ", shape);
        var dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({dims}), }}";
        int total = 10 + dict.Length + 1;
        int pad = (64 - total % 64) % 64;
        var header = dict + new string(' ', pad) + "\n";
        var bytes = new byte[10 + header.Length + data.Length * 4];
        bytes[0] = 0x93;
        Encoding.ASCII.GetBytes("NUMPY").CopyTo(bytes, 1);
        bytes[6] = 1;
        bytes[7] = 0;
        BitConverter.TryWriteBytes(bytes.AsSpan(8), (ushort)header.Length);
        Encoding.ASCII.GetBytes(header).CopyTo(bytes, 10);
        Buffer.BlockCopy(data, 0, bytes, 10 + header.Length, data.Length * 4);
        return bytes;
    }
}
