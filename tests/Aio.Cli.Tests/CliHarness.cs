using Microsoft.Extensions.Logging;
using Spectre.Console.Testing;

namespace Aio.Cli.Tests;

/// <summary>What a run of the tool printed, and its exit code.</summary>
public sealed record CliResult(int ExitCode, string Out, string Error, string Console);

/// <summary>Runs <c>aio</c> in-process with a Spectre TestConsole and string writers in place of the terminal.</summary>
internal static class CliHarness
{
    public static CliResult Run(string[] args, Action<Runner>? runnerCreated = null, Func<EventLoop>? loopFactory = null,
        bool interactive = false, Dictionary<string, string>? environment = null, ILogger? logger = null,
        Func<string, bool>? confirm = null, string? currentDirectory = null, Func<string, string, bool>? interruptWhen = null,
        Action<Runner>? sendInterrupt = null)
    {
        var console = new TestConsole();
        console.Profile.Width = 200;
        if (interactive)
        {
            console.Interactive();
            console.EmitAnsiSequences();
        }
        var output = new StringWriter();
        var error = new StringWriter();
        if (interruptWhen is not null)
        {
            // Ctrl+C as soon as the output so far (standard output, console) satisfies the condition; 30 s at most.
            runnerCreated = runner =>
            {
                EventLoop loop = runner.GetLoop();
                var clock = System.Diagnostics.Stopwatch.StartNew();
                void Poll()
                {
                    if (interruptWhen(output.ToString(), console.Output) || clock.Elapsed > TimeSpan.FromSeconds(30))
                    {
                        runner.Interrupt();
                    }
                    else
                    {
                        loop.CallLater(0.02, Poll);
                    }
                }
                loop.CallSoon(Poll);
            };
        }
        var ctx = new CliContext
        {
            Console = console,
            Out = output,
            Error = error,
            RunnerCreated = runnerCreated,
            LoopFactory = loopFactory,
            Logger = logger,
            Confirm = confirm,
            GetEnvironment = name => environment is null ? Environment.GetEnvironmentVariable(name) : environment.GetValueOrDefault(name),
            CurrentDirectory = currentDirectory ?? Environment.CurrentDirectory,
            SendInterrupt = sendInterrupt,
        };
        int code = AioCli.Invoke(args, ctx);
        return new CliResult(code, output.ToString(), error.ToString(), console.Output);
    }
}
