// AioCli: the command tree of the `aio` tool and its conventions.
//
// Design note. Parsing is System.CommandLine's; every command's action is synchronous: it builds its settings
// from the ParseResult and runs its async main on a new Aio loop (CliContext.RunOnLoop, asyncio.run), so
// Ctrl+C and SIGTERM reach the main task as a cancellation through the loop's signal handlers. Exit codes:
// 0 ok, 1 failures found (or an error at run time), 2 usage (a bad argument; System.CommandLine's errors are
// printed here, not by its default action, which would exit 1); an interrupted fetch 130/143, as asyncio.
using System.CommandLine;
using System.CommandLine.Help;
using Aio.Cli.Bench;
using Aio.Cli.Fetch;
using Aio.Cli.Jobs;
using Aio.Cli.Serve;
using Aio.Cli.Tour;
using Aio.Cli.Watch;
using Microsoft.Extensions.Logging;

namespace Aio.Cli;

/// <summary>Exit codes of the tool.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Failures = 1;
    public const int Usage = 2;
}

/// <summary>An error the user can act on: printed as <c>aio: message</c>, the process exits with <see cref="ExitCode"/>.</summary>
internal sealed class CliException(string message, int exitCode = ExitCodes.Failures, Exception? inner = null) : Exception(message, inner)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>The <c>aio</c> command line.</summary>
internal static class AioCli
{
    /// <summary><c>--json</c>: machine-readable output on standard output (every command).</summary>
    public static readonly Option<bool> Json = new("--json") { Description = "Write machine-readable JSON to standard output instead of tables", Recursive = true };

    /// <summary><c>--verbose</c>: the log at information level on standard error.</summary>
    public static readonly Option<bool> Verbose = new("--verbose", "-v") { Description = "Log at information level on standard error (default: warnings)", Recursive = true };

    public static RootCommand Build(CliContext ctx)
    {
        var root = new RootCommand("aio: HTTP fetches, a site watcher with a history, a static file server, the Redis job queue, the benchmark plots and the tutorial tour, on an Aio event loop.")
        {
            Json,
            Verbose,
            FetchCommand.Create(ctx),
            WatchCommand.Create(ctx),
            JobsCommand.Create(ctx),
            BenchCommand.Create(ctx),
            ServeCommand.Create(ctx),
            TourCommand.Create(ctx),
            CompletionCommand.Create(ctx),
        };
        foreach (Option option in root.Options)
        {
            if (option is VersionOption version)
            {
                version.Action = new PrintVersion(ctx);   // the tool's version, also when hosted in another process (tests)
            }
        }
        return root;
    }

    /// <summary>Parses <paramref name="args"/> and runs the command; returns the exit code.</summary>
    public static int Invoke(string[] args, CliContext ctx)
    {
        RootCommand root = Build(ctx);
        ParseResult parse = root.Parse(args);
        bool helpOrVersion = parse.Action is HelpAction or PrintVersion;
        if (parse.Errors.Count > 0 && !helpOrVersion)
        {
            foreach (System.CommandLine.Parsing.ParseError error in parse.Errors)
            {
                ctx.Error.WriteLine($"aio: {error.Message}");
            }
            string command = parse.CommandResult.Command is RootCommand ? "aio" : $"aio {string.Join(' ', CommandPath(parse.CommandResult.Command, parse))}";
            ctx.Error.WriteLine($"Run '{command} --help' for usage.");
            return ExitCodes.Usage;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration
            {
                Output = ctx.Out,
                Error = ctx.Error,
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = null,   // the loop's signal handlers own Ctrl+C and SIGTERM
            });
        }
        catch (CliException e)
        {
            ctx.Error.WriteLine($"aio: {e.Message}");
            return e.ExitCode;
        }
    }

    private static List<string> CommandPath(Command command, ParseResult parse)
    {
        var names = new List<string>();
        for (System.CommandLine.Parsing.SymbolResult? r = parse.CommandResult; r is not null; r = r.Parent)
        {
            if (r is System.CommandLine.Parsing.CommandResult c && c.Command is not RootCommand)
            {
                names.Insert(0, c.Command.Name);
            }
        }
        return names.Count > 0 ? names : [command.Name];
    }

    /// <summary>Validates that an integer option is at least <paramref name="minimum"/> (a value that did not parse is reported by the parser).</summary>
    public static void AtLeast(Option<int> option, int minimum) => option.Validators.Add(r =>
    {
        if (r.Tokens.Count > 0 && int.TryParse(r.Tokens[^1].Value, System.Globalization.CultureInfo.InvariantCulture, out int value) && value < minimum)
        {
            r.AddError(minimum == 0 ? $"{option.Name} must be 0 or more." : $"{option.Name} must be at least {minimum}.");
        }
    });

    /// <summary><c>--version</c>: the informational version of this assembly.</summary>
    private sealed class PrintVersion(CliContext ctx) : System.CommandLine.Invocation.SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            string? version = typeof(AioCli).Assembly
                .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
                .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion;
            ctx.Out.WriteLine(version ?? typeof(AioCli).Assembly.GetName().Version?.ToString() ?? "unknown");
            return ExitCodes.Ok;
        }
    }

    /// <summary>The log of a command: the context's, or standard error at warning (information with <c>--verbose</c>).</summary>
    public static ILogger Logger(CliContext ctx, ParseResult parse) =>
        ctx.Logger ?? new ErrorWriterLogger(ctx.Error, parse.GetValue(Verbose) ? LogLevel.Information : LogLevel.Warning);
}
