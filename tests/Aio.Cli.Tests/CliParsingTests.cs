namespace Aio.Cli.Tests;

/// <summary>The conventions every command follows: help, --version, usage errors exit 2 with a message.</summary>
public sealed class CliParsingTests
{
    [Theory]
    [InlineData("fetch")]
    [InlineData("watch")]
    [InlineData("jobs")]
    [InlineData("bench")]
    [InlineData("serve")]
    [InlineData("tour")]
    [InlineData("completion")]
    public void Help_OfEachCommand_PrintsUsageAndExits0(string command)
    {
        CliResult r = CliHarness.Run([command, "--help"]);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("Usage:", r.Out, StringComparison.Ordinal);
        Assert.Contains($" {command} ", r.Out, StringComparison.Ordinal);   // after the executable's name (aio when installed)
        Assert.Contains("Options:", r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Version_PrintsTheToolVersion_Exits0()
    {
        CliResult r = CliHarness.Run(["--version"]);
        Assert.Equal(0, r.ExitCode);
        Assert.StartsWith("0.1.0", r.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "bogus" }, "Unrecognized command or argument 'bogus'")]
    [InlineData(new string[0], "Required command was not provided")]
    [InlineData(new[] { "fetch" }, "fetch needs at least one URL")]
    [InlineData(new[] { "fetch", "-c", "0", "http://127.0.0.1/" }, "--concurrency must be at least 1")]
    [InlineData(new[] { "fetch", "-c", "x", "http://127.0.0.1/" }, "Cannot parse argument 'x' for option '--concurrency'")]
    [InlineData(new[] { "fetch", "--timeout", "3x", "http://127.0.0.1/" }, "--timeout: '3x' is not a positive duration")]
    [InlineData(new[] { "fetch", "--header", "NoColon", "http://127.0.0.1/" }, "--header: 'NoColon' is not 'Name: value'")]
    [InlineData(new[] { "fetch", "--method", "G E T", "http://127.0.0.1/" }, "--method: 'G E T' is not an HTTP method name")]
    [InlineData(new[] { "fetch", "ftp://example/" }, "'ftp://example/' is not an absolute http:// or https:// URL")]
    [InlineData(new[] { "fetch", "--file", "/nonexistent/urls.txt" }, "--file: /nonexistent/urls.txt does not exist")]
    [InlineData(new[] { "watch" }, "Required argument 'url' missing for command: 'watch'")]
    [InlineData(new[] { "watch", "--every", "0s", "http://127.0.0.1/" }, "--every: '0s' is not a positive duration")]
    [InlineData(new[] { "watch", "--method", "POST", "http://127.0.0.1/" }, "Argument 'POST' not recognized")]
    [InlineData(new[] { "watch", "--webhook", "nope", "http://127.0.0.1/" }, "--webhook: 'nope' is not an absolute http:// or https:// URL")]
    [InlineData(new[] { "watch", "relative/url" }, "'relative/url' is not an absolute http:// or https:// URL")]
    [InlineData(new[] { "jobs" }, "Required command was not provided")]
    [InlineData(new[] { "jobs", "show" }, "Required argument 'id' missing for command: 'show'")]
    [InlineData(new[] { "bench", "--workloads", "W1,Q9" }, "--workloads: unknown workload 'Q9'")]
    [InlineData(new[] { "bench", "--from", "/nonexistent/results.json" }, "--from: /nonexistent/results.json does not exist")]
    [InlineData(new[] { "completion", "fish" }, "Argument 'fish' not recognized")]
    [InlineData(new[] { "serve", "/nonexistent/site" }, "/nonexistent/site is not a directory")]
    [InlineData(new[] { "serve", "--port", "70000" }, "--port must be between 0 and 65535")]
    [InlineData(new[] { "tour", "6" }, "step '6' does not exist; the tour has steps 1 to 5")]
    [InlineData(new[] { "tour", "--api", "nope" }, "--api: 'nope' is not an absolute http:// or https:// URL")]
    [InlineData(new[] { "tour", "--json" }, "tour prints a walkthrough for reading; it has no --json output")]
    public void BadArguments_PrintWhatIsWrong_Exit2(string[] args, string message)
    {
        CliResult r = CliHarness.Run(args);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Error, StringComparison.Ordinal);
        Assert.Contains("aio", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Suggest_ForAPrefix_CompletesTheCommandName()
    {
        CliResult r = CliHarness.Run(["[suggest:2]", "fe"]);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(["fetch"], r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    [Fact]
    public void Completion_Bash_PrintsAScriptThatUsesTheSuggestDirective()
    {
        CliResult r = CliHarness.Run(["completion", "bash"]);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("complete -o default -F _aio_complete aio", r.Out, StringComparison.Ordinal);
        Assert.Contains("[suggest:", r.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("250ms", 0.25)]
    [InlineData("30s", 30)]
    [InlineData("5m", 300)]
    [InlineData("2h", 7200)]
    [InlineData("30d", 2592000)]
    [InlineData("1.5", 1.5)]
    public void Durations_TryParse_ReadsEachUnit(string text, double seconds)
    {
        Assert.True(Durations.TryParse(text, out TimeSpan value));
        Assert.Equal(seconds, value.TotalSeconds, 6);
    }
}
