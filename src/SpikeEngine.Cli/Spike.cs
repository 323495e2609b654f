using System.CommandLine;
using System.Reflection;

namespace SpikeEngine.Cli;

/// <summary>A command-line mistake: printed as one line, exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>The <c>spike</c> command: parsing, dispatch, and the exit-code contract.</summary>
public static class Spike
{
    public const int Success = 0;
    public const int RuntimeFailure = 1;
    public const int UsageError = 2;

    public const string ExitCodes =
        "Exit codes: 0 success, 1 runtime failure (one line; --verbose adds the stack trace), 2 usage error.";

    public static readonly Option<bool> Verbose = new("--verbose")
    {
        Description = "Print stack traces of runtime errors.",
        Recursive = true,
    };

    public static string Version =>
        typeof(Spike)
            .Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()
            ?.InformationalVersion.Split('+')[0]
        ?? "unknown";

    public static RootCommand Build(TextWriter stdout)
    {
        var root = new RootCommand(
            $"spike {Version}: train and evaluate spiking neural networks with SpikeEngine. {ExitCodes} 'spike COMMAND --help' describes each command."
        );
        root.Options.Add(Verbose);
        root.Subcommands.Add(TrainCommand.Build(stdout));
        root.Subcommands.Add(EvalCommand.Build(stdout));
        root.Subcommands.Add(InfoCommand.Build(stdout));
        root.Subcommands.Add(ModelsCommand.Build(stdout));
        root.Subcommands.Add(BenchCommand.Build(stdout));
        root.Subcommands.Add(NirCommand.Build(stdout));
        root.Subcommands.Add(DataCommand.Build(stdout));
        return root;
    }

    /// <summary>Parses and runs <paramref name="args"/>; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0)
        {
            stderr.WriteLine(
                "spike: a command is required: train, eval, models, info, bench (see 'spike --help')"
            );
            return UsageError;
        }
        var root = Build(stdout);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            var cmd = parse.CommandResult.Command;
            var name = cmd == root ? "spike" : "spike " + cmd.Name;
            var message = string.Join(
                " ",
                parse
                    .Errors[0]
                    .Message.Split(['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries)
                    .Select(p => p.Trim())
            );
            stderr.WriteLine($"spike: {message} (see '{name} --help')");
            return UsageError;
        }
        if (
            parse.CommandResult.Command == root
            && !args.Any(a => a is "--help" or "-h" or "-?" or "--version")
        )
        {
            stderr.WriteLine(
                "spike: a command is required: train, eval, models, info, bench (see 'spike --help')"
            );
            return UsageError;
        }
        bool verbose = parse.GetValue(Verbose);
        try
        {
            return parse.Invoke(
                new InvocationConfiguration
                {
                    Output = stdout,
                    Error = stderr,
                    EnableDefaultExceptionHandler = false,
                }
            );
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"spike: {e.Message}");
            return UsageError;
        }
        catch (Exception e)
        {
            stderr.WriteLine($"spike: error: {OneLine(e)}");
            if (verbose)
                stderr.WriteLine(e.ToString());
            return RuntimeFailure;
        }
    }

    private static string OneLine(Exception e)
    {
        while (e is AggregateException { InnerException: { } inner })
            e = inner;
        return e.Message.ReplaceLineEndings(" ");
    }

    private static readonly System.Text.Json.JsonSerializerOptions s_indented = new()
    {
        WriteIndented = true,
    };

    /// <summary>Writes <paramref name="value"/> as indented JSON (the <c>--json</c> output of a command).</summary>
    public static void WriteJson(TextWriter stdout, object value) =>
        stdout.WriteLine(System.Text.Json.JsonSerializer.Serialize(value, s_indented));

    /// <summary>Adds a validator that rejects values outside <paramref name="ok"/> with a message naming the option and value.</summary>
    public static Option<T> Check<T>(this Option<T> option, Func<T, bool> ok, string expectation)
    {
        option.Validators.Add(r =>
        {
            var v = r.GetValueOrDefault<T>();
            if (!ok(v))
                r.AddError($"{option.Name}: {expectation}, got {v}");
        });
        return option;
    }

    /// <summary>The <c>--memory-budget</c> option of <c>train</c> and <c>bench memory</c> (docs/memory.md).</summary>
    public static Option<string?> MemoryBudgetOption() =>
        new("--memory-budget")
        {
            Description =
                "Pick the plan with the least recomputation (standard, lean, then min recomputing the first 1, 2, ... stages) whose predicted saved bytes fit this size: 6GiB, 512MiB, 100KiB or bytes. Overrides --memory. See docs/memory.md.",
        };

    /// <summary>
    /// The plan of <c>--memory-budget</c> (<see cref="Models.MemoryBudget.Choose"/>), or null when the
    /// option is absent; a bad size or a budget no plan fits is a usage error naming them.
    /// </summary>
    public static (Nn.MemoryOptions Plan, long SavedBytes)? ChooseBudget(
        string? budget,
        string model,
        Models.ModelOptions options,
        (int Channels, int Height, int Width) input,
        int timeSteps,
        int batch
    )
    {
        if (budget is null)
            return null;
        try
        {
            return Models.MemoryBudget.Choose(
                model,
                options,
                input,
                timeSteps,
                batch,
                Models.MemoryBudget.ParseBytes(budget)
            );
        }
        catch (ArgumentException e)
        {
            throw new UsageException(
                e.ParamName is null
                    ? e.Message
                    : e.Message.Replace($" (Parameter '{e.ParamName}')", "")
            );
        }
    }

    /// <summary>
    /// The <c>--memory</c> option of <c>train</c>, <c>bench</c> and <c>models</c>: parses the text form of <see cref="Nn.MemoryOptions"/> (<c>standard</c>,
    /// <c>lean</c>, <c>min</c>, or one of them with <c>,key=value</c> overrides; docs/memory.md); a bad
    /// value is a usage error naming it.
    /// </summary>
    public static Option<Nn.MemoryOptions> MemoryOption(string description) =>
        new("--memory")
        {
            Description = description,
            DefaultValueFactory = _ => Nn.MemoryOptions.Lean,
            CustomParser = r =>
            {
                var text = r.Tokens.Count > 0 ? r.Tokens[^1].Value : "lean";
                try
                {
                    return Nn.MemoryOptions.Parse(text);
                }
                catch (ArgumentException e)
                {
                    // The message names the option and the value; drop .NET's "(Parameter 'x')".
                    r.AddError(
                        e.ParamName is null
                            ? e.Message
                            : e.Message.Replace($" (Parameter '{e.ParamName}')", "")
                    );
                    return default;
                }
            },
        };
}
