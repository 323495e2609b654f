using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using TorchSharp;
using TorchSharpPeer;
using static TorchSharp.torch;

// The TorchSharp peer of `spike bench step`: the same training step (forward, CE on the time-mean
// of the logits, backward, SGD momentum 0.9) of sew-resnet18 / danet-pre-resnet18 with the cifar
// stem, built from TorchSharp's own modules and autograd. See docs/benchmarks.md.

var opts = Options.Parse(args);
if (opts is null)
    return 2;
if (opts.Help)
    return 0;
if (opts.Threads > 0)
    set_num_threads(opts.Threads);
Lif.PlainOps = opts.PlainLif;

if (opts.ParamsOnly)
{
    foreach (
        var name in new[]
        {
            "sew-resnet18",
            "danet-pre-resnet18",
            "sew-resnet34",
            "danet-pre-resnet34",
        }
    )
    {
        using var m = Build(name, opts);
        Console.WriteLine(
            opts.Json
                ? JsonSerializer.Serialize(
                    new Dictionary<string, object> { ["name"] = name, ["parameters"] = Count(m) }
                )
                : $"{name, -22} {Count(m), 14:N0}"
        );
    }
    return 0;
}

if (opts.ConvCheck)
{
    // The README's conv case: input 32×64×32×32, 64 outputs, 3×3, stride 1, pad 1 (2.42 GFLOP forward).
    using var conv = nn.Conv2d(64, 64, 3, padding: 1, bias: false);
    if (opts.ChannelsLast)
        Units.WeightsChannelsLast(conv);
    using var inp = (
        opts.ChannelsLast ? Units.ChannelsLast(randn(32, 64, 32, 32)) : randn(32, 64, 32, 32)
    ).requires_grad_();
    double Time(bool backward)
    {
        var ts = new List<double>();
        for (var i = 0; i < 1 + opts.Steps; i++)
        {
            using var scope = NewDisposeScope();
            var sw = Stopwatch.StartNew();
            var y = conv.forward(inp);
            if (backward)
                y.sum().backward();
            ts.Add(sw.Elapsed.TotalMilliseconds);
        }
        return ts.Skip(1).Order().ElementAt(opts.Steps / 2);
    }
    if (opts.ChannelsLast)
    {
        // The channels-last conv against the same conv on NCHW copies of its operands.
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var diff = conv.forward(inp)
            .sub(nn.functional.conv2d(inp.contiguous(), conv.weight!.contiguous(), padding: [1, 1]))
            .abs()
            .max()
            .item<float>();
        Console.WriteLine($"nhwc against nchw: max |difference| {diff:E2}");
    }
    var f = Time(false);
    var fb = Time(true);
    Console.WriteLine(
        string.Create(
            CultureInfo.InvariantCulture,
            $"conv2d 32x64x32x32, 64 out, 3x3: forward {f:F1} ms ({2.416 / f * 1000:F1} GFLOP/s), forward+backward {fb:F1} ms ({7.248 / fb * 1000:F1} GFLOP/s), {get_num_threads()} threads"
        )
    );
    return 0;
}

manual_seed(1); // the initial weights, so runs with different options start from the same model
using var model = Build(opts.Model, opts);
model.train();
var parameters = model.parameters().ToList();
using var sgd = optim.SGD(parameters, learningRate: 0.01, momentum: 0.9);

// The engine's inputs: one Normal(0, 1) batch repeated over T (direct encoding), labels i mod K.
manual_seed(7);
using var image = randn(opts.Batch, opts.C, opts.H, opts.W);
using var x = image.unsqueeze(0).expand(opts.T, -1, -1, -1, -1).contiguous();
using var labels = arange(opts.Batch, dtype: ScalarType.Int64).remainder_(opts.NumClasses);

double fwdMs = 0,
    bwdMs = 0,
    optMs = 0;
float Step()
{
    using var scope = NewDisposeScope();
    var sw = Stopwatch.StartNew();
    sgd.zero_grad();
    var logits = model.forward(x); // [T, N, K]
    var loss = nn.functional.cross_entropy(logits.mean([0]), labels);
    var t1 = sw.Elapsed.TotalMilliseconds;
    loss.backward();
    var t2 = sw.Elapsed.TotalMilliseconds;
    sgd.step();
    var value = loss.item<float>();
    var t3 = sw.Elapsed.TotalMilliseconds;
    (fwdMs, bwdMs, optMs) = (fwdMs + t1, bwdMs + t2 - t1, optMs + t3 - t2);
    return value;
}

var loss = 0f;
for (var i = 0; i < opts.Warmup; i++)
    loss = Step();
(fwdMs, bwdMs, optMs) = (0, 0, 0);
var times = new double[opts.Steps];
var cpu = new double[opts.Steps];
var proc = Process.GetCurrentProcess();
for (var i = 0; i < opts.Steps; i++)
{
    proc.Refresh();
    var c0 = proc.TotalProcessorTime;
    var sw = Stopwatch.StartNew();
    loss = Step();
    times[i] = sw.Elapsed.TotalMilliseconds;
    proc.Refresh();
    cpu[i] = (proc.TotalProcessorTime - c0).TotalMilliseconds;
}
Array.Sort(times);
Array.Sort(cpu);
var cpuMedian =
    opts.Steps % 2 == 1
        ? cpu[opts.Steps / 2]
        : 0.5 * (cpu[opts.Steps / 2 - 1] + cpu[opts.Steps / 2]);
var s = opts.Steps;
var median = s % 2 == 1 ? times[s / 2] : 0.5 * (times[s / 2 - 1] + times[s / 2]);
var ips = opts.Batch / (median / 1000.0);
var rss = PeakRssBytes();

Dictionary<string, double>? rates = null;
if (opts.Rates)
{
    foreach (var (n, m) in model.named_modules())
        if (m is Lif l)
            l.CountSpikes = true;
    using (var scope = NewDisposeScope())
    using (no_grad())
        model.forward(x);
    rates = model
        .named_modules()
        .Where(p => p.module is Lif)
        .ToDictionary(p => p.name, p => Math.Round(((Lif)p.module).LastFiringRate, 4));
}

if (opts.Json)
{
    var obj = new Dictionary<string, object>
    {
        ["model"] = opts.Model,
        ["peer"] = "torchsharp",
        ["torchsharp"] = typeof(torch).Assembly.GetName().Version?.ToString() ?? "?",
        ["libtorch"] = __version__,
        ["surrogate"] = opts.Mode == SurrogateMode.Function ? "function" : "straight-through",
        ["layout"] = opts.ChannelsLast ? "nhwc" : "nchw",
        ["lif"] = opts.PlainLif ? "plain" : "fused",
        ["device"] = "cpu",
        ["threads"] = get_num_threads(),
        ["t"] = opts.T,
        ["batch"] = opts.Batch,
        ["input"] = $"{opts.C}x{opts.H}x{opts.W}",
        ["num_classes"] = opts.NumClasses,
        ["parameters"] = Count(model),
        ["warmup"] = opts.Warmup,
        ["steps"] = s,
        ["median_step_ms"] = Math.Round(median, 2),
        ["min_step_ms"] = Math.Round(times[0], 2),
        ["images_per_s"] = Math.Round(ips, 2),
        ["median_cpu_ms"] = Math.Round(cpuMedian, 2),
        ["peak_bytes"] = rss,
        ["peak_rss_bytes"] = rss,
        ["loss"] = Math.Round(loss, 5),
        ["forward_ms"] = Math.Round(fwdMs / s, 2),
        ["backward_ms"] = Math.Round(bwdMs / s, 2),
        ["sgd_ms"] = Math.Round(optMs / s, 2),
    };
    if (rates is not null)
        obj["firing_rates"] = rates;
    Console.WriteLine(
        JsonSerializer.Serialize(obj, new JsonSerializerOptions { WriteIndented = true })
    );
}
else
{
    Console.WriteLine(
        $"{opts.Model} (TorchSharp {typeof(torch).Assembly.GetName().Version}, libtorch {__version__}, {get_num_threads()} threads, surrogate {opts.Mode}, layout {(opts.ChannelsLast ? "nhwc" : "nchw")}, LIF {(opts.PlainLif ? "plain" : "fused")} ops) T={opts.T} batch={opts.Batch} input={opts.C}x{opts.H}x{opts.W} classes={opts.NumClasses}"
    );
    Console.WriteLine($"parameters {Count(model):N0}");
    Console.WriteLine(
        string.Create(
            CultureInfo.InvariantCulture,
            $"step: median {median:F1} ms, min {times[0]:F1} ms over {s} steps after {opts.Warmup} warm-up; {ips:F2} images/s; peak RSS {rss / (1024.0 * 1024.0):F1} MiB; last loss {loss:F4}"
        )
    );
    Console.WriteLine(
        string.Create(
            CultureInfo.InvariantCulture,
            $"median process CPU time per step {cpuMedian:F1} ms; mean per step: forward+loss {fwdMs / s:F1} ms, backward {bwdMs / s:F1} ms, SGD {optMs / s:F1} ms"
        )
    );
    if (rates is not null)
        foreach (var (n, r) in rates)
            Console.WriteLine($"  firing rate {n, -28} {r:F4}");
}
return 0;

static SpikingResNet Build(string name, Options o)
{
    var (family, depth) = name switch
    {
        "sew-resnet18" => (Family.SewAdd, 18),
        "sew-resnet34" => (Family.SewAdd, 34),
        "danet-pre-resnet18" => (Family.DaNetPre, 18),
        "danet-pre-resnet34" => (Family.DaNetPre, 34),
        _ => throw new ArgumentException(
            $"unknown model '{name}' (sew-resnet18|34, danet-pre-resnet18|34)"
        ),
    };
    var model = new SpikingResNet(family, depth, o.NumClasses, o.C, o.T, o.Mode)
    {
        ChannelsLast = o.ChannelsLast,
    };
    if (o.ChannelsLast)
        Units.WeightsChannelsLast(model);
    return model;
}

static long Count(nn.Module m) => m.parameters().Sum(p => p.numel());

// Peak resident set of this process (VmHWM of /proc/self/status), or -1 where unavailable.
static long PeakRssBytes()
{
    const string path = "/proc/self/status";
    if (!File.Exists(path))
        return -1;
    foreach (var line in File.ReadLines(path))
        if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            return long.Parse(
                    line["VmHWM:".Length..].Trim().Split(' ')[0],
                    CultureInfo.InvariantCulture
                ) * 1024;
    return -1;
}
