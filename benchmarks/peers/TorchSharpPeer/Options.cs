using System.Globalization;

namespace TorchSharpPeer;

/// <summary>Command line of the peer: the options of <c>spike bench step</c> plus a few of its own.</summary>
internal sealed class Options
{
    public string Model { get; private set; } = "sew-resnet18";
    public int T { get; private set; } = 4;
    public int Batch { get; private set; } = 32;
    public int C { get; private set; } = 3;
    public int H { get; private set; } = 32;
    public int W { get; private set; } = 32;
    public int NumClasses { get; private set; } = 10;
    public int Steps { get; private set; } = 5;
    public int Warmup { get; private set; } = 1;
    public int Threads { get; private set; }
    public bool Json { get; private set; }
    public bool Help { get; private set; }
    public bool ParamsOnly { get; private set; }
    public bool Rates { get; private set; }
    public bool ConvCheck { get; private set; }

    /// <summary>Activations and conv weights in channels-last order (NHWC strides) instead of NCHW.</summary>
    public bool ChannelsLast { get; private set; }

    /// <summary>The LIF step as eight plain elementwise ops instead of lerp / spike / addcmul.</summary>
    public bool PlainLif { get; private set; }
    public SurrogateMode Mode { get; private set; } = SurrogateMode.Function;

    private const string Usage = """
        usage: TorchSharpPeer [--model sew-resnet18|danet-pre-resnet18|sew-resnet34|danet-pre-resnet34]
                              [--T 4] [--batch 32] [--input 3x32x32] [--num-classes 10] [--stem cifar]
                              [--device cpu] [--steps 5] [--warmup 1] [--threads N]
                              [--surrogate function|ste] [--layout nchw|nhwc] [--lif fused|plain] [--rates] [--json]
               TorchSharpPeer --params [--num-classes 10] [--input 3x32x32] [--json]
        """;

    public static Options? Parse(string[] args)
    {
        var o = new Options();
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                string Next() =>
                    i + 1 < args.Length
                        ? args[++i]
                        : throw new FormatException($"{args[i]} needs a value");
                int Int(int min)
                {
                    var name = args[i];
                    var v = int.Parse(Next(), NumberStyles.None, CultureInfo.InvariantCulture);
                    return v >= min
                        ? v
                        : throw new FormatException($"{name} must be at least {min}, got {v}");
                }
                switch (args[i])
                {
                    case "--model":
                        o.Model = Next();
                        break;
                    case "--T":
                        o.T = Int(1);
                        break;
                    case "--batch":
                        o.Batch = Int(1);
                        break;
                    case "--num-classes":
                        o.NumClasses = Int(1);
                        break;
                    case "--steps":
                        o.Steps = Int(1);
                        break;
                    case "--warmup":
                        o.Warmup = Int(0);
                        break;
                    case "--threads":
                        o.Threads = Int(1);
                        break;
                    case "--input":
                        var dims = Next()
                            .Split('x')
                            .Select(p =>
                                int.Parse(p, NumberStyles.None, CultureInfo.InvariantCulture)
                            )
                            .ToArray();
                        if (dims.Length != 3 || dims.Any(d => d <= 0))
                            throw new FormatException("--input: expected CxHxW");
                        (o.C, o.H, o.W) = (dims[0], dims[1], dims[2]);
                        break;
                    case "--stem":
                        if (Next() != "cifar")
                            throw new FormatException(
                                "--stem: the peer builds the cifar stem only"
                            );
                        break;
                    case "--device":
                        if (Next() != "cpu")
                            throw new FormatException(
                                "--device: the peer uses TorchSharp-cpu (cpu only)"
                            );
                        break;
                    case "--surrogate":
                        o.Mode = Next() switch
                        {
                            "function" => SurrogateMode.Function,
                            "ste" => SurrogateMode.StraightThrough,
                            var v => throw new FormatException(
                                $"--surrogate: expected function or ste, got '{v}'"
                            ),
                        };
                        break;
                    case "--layout":
                        o.ChannelsLast = Next() switch
                        {
                            "nchw" => false,
                            "nhwc" => true,
                            var v => throw new FormatException(
                                $"--layout: expected nchw or nhwc, got '{v}'"
                            ),
                        };
                        break;
                    case "--lif":
                        o.PlainLif = Next() switch
                        {
                            "fused" => false,
                            "plain" => true,
                            var v => throw new FormatException(
                                $"--lif: expected fused or plain, got '{v}'"
                            ),
                        };
                        break;
                    case "--conv":
                        o.ConvCheck = true;
                        break;
                    case "--rates":
                        o.Rates = true;
                        break;
                    case "--params":
                        o.ParamsOnly = true;
                        break;
                    case "--json":
                        o.Json = true;
                        break;
                    case "-h" or "--help":
                        Console.WriteLine(Usage);
                        o.Help = true;
                        return o;
                    default:
                        throw new FormatException($"unknown option '{args[i]}'");
                }
            }
        }
        catch (FormatException e)
        {
            Console.Error.WriteLine($"TorchSharpPeer: {e.Message}");
            Console.Error.WriteLine(Usage);
            return null;
        }
        return o;
    }
}
