using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace Aio.Cli;

/// <summary>
/// Where a command writes and how it runs its loop. The program uses <see cref="CliContext.ForProcess"/>; tests pass a
/// Spectre <c>TestConsole</c>, string writers, a loop factory (a virtual clock) and a hook to interrupt the run.
/// </summary>
internal sealed class CliContext
{
    /// <summary>Human output: tables, progress, coloured lines (Spectre decides colours and interactivity).</summary>
    public required IAnsiConsole Console { get; init; }

    /// <summary>Machine output (<c>--json</c>): written as is, never wrapped or coloured.</summary>
    public required TextWriter Out { get; init; }

    /// <summary>Error messages and the log.</summary>
    public required TextWriter Error { get; init; }

    /// <summary>Reads an environment variable (tests give their own).</summary>
    public Func<string, string?> GetEnvironment { get; init; } = Environment.GetEnvironmentVariable;

    /// <summary>Creates the loop a command runs on; null: the default loop of <see cref="Runner"/>.</summary>
    public Func<EventLoop>? LoopFactory { get; init; }

    /// <summary>Called with the runner before the command's main task starts (tests keep it to call <see cref="Runner.Interrupt"/>).</summary>
    public Action<Runner>? RunnerCreated { get; init; }

    /// <summary>How a command interrupts itself (the tour's step 5 presses Ctrl+C); null: a real SIGINT to this process. Tests call <see cref="Runner.Interrupt"/>.</summary>
    public Action<Runner>? SendInterrupt { get; init; }

    /// <summary>Answers a yes/no question on the terminal; null: not interactive (a question is answered no).</summary>
    public Func<string, bool>? Confirm { get; init; }

    /// <summary>The log's sink; null: <see cref="ErrorWriterLogger"/> on <see cref="Error"/>.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>The current directory (bench looks for a checkout above it).</summary>
    public string CurrentDirectory { get; init; } = Environment.CurrentDirectory;

    /// <summary>The context of the real process: the terminal, NO_COLOR, redirected output.</summary>
    public static CliContext ForProcess()
    {
        bool noColor = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"));
        bool redirected = System.Console.IsOutputRedirected;
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = redirected ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = noColor || redirected ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
            Interactive = redirected ? InteractionSupport.No : InteractionSupport.Detect,
            Out = new AnsiConsoleOutput(System.Console.Out),
        });
        if (redirected)
        {
            console.Profile.Width = 200;   // a file or a pipe: no terminal to wrap for; keep lines whole
        }
        return new CliContext
        {
            Console = console,
            Out = System.Console.Out,
            Error = System.Console.Error,
            Confirm = System.Console.IsInputRedirected || redirected ? null : question => console.Confirm(question, defaultValue: false),
        };
    }

    /// <summary>
    /// Runs <paramref name="main"/> as the main task of a new loop (asyncio.run): SIGINT and SIGTERM cancel it; a run
    /// that ends that way returns <paramref name="interruptedExitCode"/>, by default <see cref="KeyboardInterrupt.ProcessExitCode"/> (130 or 143).
    /// </summary>
    public int RunOnLoop(Func<Task<int>> main, int? interruptedExitCode = null)
    {
        using var runner = new Runner(loopFactory: LoopFactory);
        RunnerCreated?.Invoke(runner);
        try
        {
            return runner.Run(main);
        }
        catch (KeyboardInterrupt e)
        {
            return interruptedExitCode ?? e.ProcessExitCode;
        }
    }
}
