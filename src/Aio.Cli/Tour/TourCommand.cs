// aio tour: the asyncio tutorial's five steps, in Aio, offline (step 4 and 5 query a jobs API the tour starts itself).
//
// Design note. The steps are the tutorial's programs, written as a reader would write them: each one runs its own
// loop (Asyncio.Run, an explicit EventLoop, a Runner) and prints plain lines. What the tool and the tests vary lives
// in TourContext: where the lines go, which loop a step's Runner makes (a virtual clock under test, so the tour's
// sleeps and its 6.5 s of checks take no real time), and how step 5 "presses Ctrl+C" (the tool sends its own process
// a real SIGINT, as the keyboard does; a test calls Runner.Interrupt, which the Runner treats as that SIGINT).
using System.CommandLine;

namespace Aio.Cli.Tour;

/// <summary>What the tour's steps write to, the loops they run on, and how step 5 is stopped.</summary>
internal sealed class TourContext
{
    /// <summary>Where every step writes its lines.</summary>
    public required TextWriter Out { get; init; }

    /// <summary>Creates the loop of a step's Runner (steps 2–5); null: a real-time loop.</summary>
    public Func<EventLoop>? LoopFactory { get; init; }

    /// <summary>Step 4 queries this jobs API instead of starting the local one.</summary>
    public string? Api { get; init; }

    /// <summary>Step 5 waits for the user's Ctrl+C instead of pressing it itself after 6.5 s.</summary>
    public bool WaitForCtrlC { get; init; }

    /// <summary>How step 5 presses Ctrl+C; the default sends this process a real SIGINT.</summary>
    public Action<Runner> PressCtrlC { get; init; } = SendSigint;

    /// <summary>Ctrl+C as the keyboard sends it: a real SIGINT to this process (kill -INT).</summary>
    public static void SendSigint(Runner runner) => System.Diagnostics.Process.Start("kill", $"-INT {Environment.ProcessId}")!.Dispose();

    /// <summary>asyncio.run on the tour's loop: a new Runner runs <paramref name="main"/> as its main task and closes.</summary>
    public T Run<T>(Func<Task<T>> main)
    {
        using var runner = new Runner(loopFactory: LoopFactory);
        return runner.Run(main);
    }

    /// <summary>The steps: number, title, body.</summary>
    public static readonly (string Title, Action<TourContext> Run)[] Steps =
    [
        ("1. A coroutine run on a loop", Step1Greet.Run),
        ("2. Five one-second sleeps, awaited one by one (about 5 s)", Step2Sequential.Run),
        ("3. The same five sleeps awaited together (about 1 s)", Step3Together.Run),
        ("4. Three queries of a jobs API made concurrently with ClientSession, gathered and flattened (local API, 1 s each)", Step4Http.Run),
        ("5. A periodic HEAD check as an Aio.Jobs job, stopped by Ctrl+C with a graceful shutdown", Step5Periodic.Run),
    ];

    /// <summary>Runs the chosen steps (all when none is chosen) in order, each under its title and followed by a blank line.</summary>
    public void RunSteps(IReadOnlyList<int> chosen)
    {
        IEnumerable<int> steps = chosen.Count > 0 ? chosen : Enumerable.Range(1, Steps.Length);
        foreach (int n in steps)
        {
            (string title, Action<TourContext> run) = Steps[n - 1];
            Out.WriteLine($"== {title}");
            run(this);
            Out.WriteLine();
            Out.Flush();
        }
    }
}

internal static class TourCommand
{
    public static Command Create(CliContext ctx)
    {
        var steps = new Argument<int[]>("step") { Description = "The steps to run, 1 to 5 (default: all of them, in order)", Arity = ArgumentArity.ZeroOrMore };
        steps.Validators.Add(r =>
        {
            foreach (System.CommandLine.Parsing.Token t in r.Tokens)
            {
                if (int.TryParse(t.Value, System.Globalization.CultureInfo.InvariantCulture, out int n) && n is < 1 or > 5)
                {
                    r.AddError($"step '{t.Value}' does not exist; the tour has steps 1 to 5.");
                }
            }
        });
        var api = new Option<Uri>("--api") { Description = "Step 4 queries this jobs API (GET URL/jobs?technology=X) instead of the local one", CustomParser = ParseApi };
        var wait = new Option<bool>("--wait-for-ctrl-c") { Description = "Step 5 waits for your Ctrl+C instead of sending itself one after 6.5 s" };
        var command = new Command("tour", "The asyncio tutorial in Aio, step by step: coroutines, sleeps one by one and together, concurrent HTTP, a periodic job stopped by Ctrl+C (offline)")
        {
            steps, api, wait,
        };
        command.SetAction(parse =>
        {
            if (parse.GetValue(AioCli.Json))
            {
                throw new CliException("tour prints a walkthrough for reading; it has no --json output.", ExitCodes.Usage);
            }
            var tour = new TourContext
            {
                Out = ctx.Out,
                LoopFactory = ctx.LoopFactory,
                Api = parse.GetValue(api)?.ToString().TrimEnd('/'),
                WaitForCtrlC = parse.GetValue(wait),
                PressCtrlC = ctx.SendInterrupt ?? TourContext.SendSigint,
            };
            tour.RunSteps(parse.GetValue(steps) ?? []);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Uri ParseApi(System.CommandLine.Parsing.ArgumentResult r)
    {
        string token = r.Tokens.Count > 0 ? r.Tokens[^1].Value : "";
        if (!Uri.TryCreate(token, UriKind.Absolute, out Uri? uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            r.AddError($"--api: '{token}' is not an absolute http:// or https:// URL.");
            return null!;
        }
        return uri;
    }
}
