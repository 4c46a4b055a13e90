using System.Diagnostics;
using System.Globalization;
using System.Xml.Linq;
using Aio.TestUtilities;

namespace Aio.Testing.Xunit.V3.Tests;

/// <summary>What xunit v3 reported for one test of a sample: its display name, outcome, failure and output.</summary>
public sealed record SampleResult(string DisplayName, string Outcome, string? ExceptionType, string? Message, string Output, decimal Seconds);

/// <summary>
/// Runs the samples (tests/Aio.Testing.Xunit.Tests/Samples.cs, compiled for xunit v3 as the executable
/// tests/Aio.Testing.Xunit.V3.Samples) the way a user's v3 test project runs: as its own process, through xunit's
/// in-process runner, discovery and serialization included, writing xunit's XML report. One run serves every test
/// (about a second); the report is read once.
/// </summary>
public static class SampleRun
{
    private static readonly Lazy<Task<IReadOnlyList<SampleResult>>> All = new(RunAllAsync);

    /// <summary>Every test of sample method <paramref name="method"/> (a theory has one per data row), in report order.</summary>
    public static async Task<List<SampleResult>> ResultsAsync(string method)
    {
        string prefix = $"Aio.Testing.Xunit.Tests.Samples.{method}";
        List<SampleResult> results = [.. (await All.Value).Where(r => r.DisplayName == prefix || r.DisplayName.StartsWith(prefix + "(", StringComparison.Ordinal))];
        return results.Count > 0 ? results : throw new InvalidOperationException($"The v3 sample run reported no test for {method}.");
    }

    public static async Task<SampleResult> OneAsync(string method) => (await ResultsAsync(method)).Single();

    private static async Task<IReadOnlyList<SampleResult>> RunAllAsync()
    {
        string dll = ExampleProgram.Find("Aio.Testing.Xunit.V3.Samples", "tests");
        string report = Path.Combine(Path.GetTempPath(), $"aio-v3-samples-{Environment.ProcessId}-{Guid.NewGuid():N}.xml");
        var start = new ProcessStartInfo(ExampleProgram.Dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in (string[])[dll, "-class", "Aio.Testing.Xunit.Tests.Samples", "-xml", report, "-noLogo", "-noColor"])
        {
            start.ArgumentList.Add(arg);
        }
        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        string console = await stdout + await stderr;
        try
        {
            if (!File.Exists(report))
            {
                throw new InvalidOperationException($"The v3 sample run (exit code {process.ExitCode}) wrote no report:\n{console}");
            }
            return [.. XDocument.Load(report).Descendants("test").Select(Parse)];
        }
        finally
        {
            File.Delete(report);
        }
    }

    private static SampleResult Parse(XElement test)
    {
        XElement? failure = test.Element("failure");
        string? type = (string?)failure?.Attribute("exception-type");
        // The report's message starts with the exception's type ("System.FormatException : the test's own failure").
        string? message = ((string?)failure?.Element("message"))?.Replace("\r", "", StringComparison.Ordinal);
        if (type is not null && message is not null && message.StartsWith(type + " : ", StringComparison.Ordinal))
        {
            message = message[(type.Length + 3)..];
        }
        // Inner exceptions follow, each as "\n---- Type : message": keep the test's own exception, as v2's Messages[0].
        int inner = message?.IndexOf("\n---- ", StringComparison.Ordinal) ?? -1;
        if (inner >= 0)
        {
            message = message![..inner];
        }
        string outcome = (string)test.Attribute("result")! switch
        {
            "Pass" => "Passed",
            "Fail" => "Failed",
            "Skip" => "Skipped",
            string other => other,
        };
        return new SampleResult(
            (string)test.Attribute("name")!,
            outcome,
            type,
            message,
            ((string?)test.Element("output") ?? "").Replace("\r", "", StringComparison.Ordinal),
            decimal.Parse((string?)test.Attribute("time") ?? "0", CultureInfo.InvariantCulture));
    }
}
