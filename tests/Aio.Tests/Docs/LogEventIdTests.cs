using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace Aio.Tests.Docs;

/// <summary>
/// The registry of log event-id ranges in docs/loop.md ("Logging") against the [LoggerMessage] attributes of every
/// Aio assembly: no two messages share an id, and each id lies in the range registered for its class.
/// </summary>
public sealed partial class LogEventIdTests
{
    /// <summary>
    /// Every package under src/ (each is referenced by this test project, so its assembly loads by name) but
    /// Aio.Testing.Xunit.V3: it cannot be referenced beside xunit v2 (both define Xunit.FactAttribute), and it logs
    /// nothing of its own, which tests/Aio.Testing.Xunit.V3.Tests checks.
    /// </summary>
    private static readonly Assembly[] Assemblies = Directory.GetDirectories(Path.Combine(RepoRoot(), "src"))
        .Select(Path.GetFileName)
        .Where(name => name != "Aio.Testing.Xunit.V3")
        .Select(name => Assembly.Load(name!))
        .ToArray();

    private static string RepoRoot()
    {
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Aio.slnx")))
        {
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException($"No Aio.slnx above {AppContext.BaseDirectory}.");
        }
        return root;
    }

    private sealed record Range(string Class, string Assembly, int First, int Last);

    [GeneratedRegex(@"^\| `(?<cls>[\w.]+)` \| (?<asm>[\w.]+) \| (?<first>\d+)–(?<last>\d+) \|")]
    private static partial Regex RowPattern();

    private static List<Range> Registry()
    {
        string[] lines = File.ReadAllLines(Path.Combine(RepoRoot(), "docs", "loop.md"));
        int start = Array.IndexOf(lines, "## Logging");
        Assert.True(start >= 0, "docs/loop.md has no \"## Logging\" section with the registry of event-id ranges.");
        var ranges = new List<Range>();
        for (int i = start + 1; i < lines.Length && !lines[i].StartsWith("## ", StringComparison.Ordinal); i++)
        {
            Match m = RowPattern().Match(lines[i]);
            if (m.Success)
            {
                ranges.Add(new Range(m.Groups["cls"].Value, m.Groups["asm"].Value, int.Parse(m.Groups["first"].Value), int.Parse(m.Groups["last"].Value)));
            }
        }
        return ranges;
    }

    private static IEnumerable<(string Class, string Assembly, string Method, int Id)> Messages() =>
        from asm in Assemblies
        from type in asm.GetTypes()
        from method in type.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
        let attr = method.GetCustomAttribute<LoggerMessageAttribute>()
        where attr is not null
        select (type.FullName!, asm.GetName().Name!, method.Name, attr.EventId);

    [Fact]
    public void Registry_RangesOfDocsLoopMd_DoNotOverlapAndNameExistingClasses()
    {
        List<Range> ranges = Registry();
        Assert.NotEmpty(ranges);
        var problems = new List<string>();
        foreach (Range r in ranges)
        {
            if (r.First > r.Last)
            {
                problems.Add($"{r.Class}: range {r.First}–{r.Last} is empty");
            }
            if (Assemblies.FirstOrDefault(a => a.GetName().Name == r.Assembly)?.GetType(r.Class) is null)
            {
                problems.Add($"{r.Class}: no such class in assembly {r.Assembly}");
            }
            foreach (Range other in ranges.Where(o => !ReferenceEquals(o, r) && o.First <= r.Last && r.First <= o.Last))
            {
                problems.Add($"{r.Class} {r.First}–{r.Last} overlaps {other.Class} {other.First}–{other.Last}");
            }
        }
        Assert.Empty(problems);
    }

    [Fact]
    public void LoggerMessage_EveryIdInAllAssemblies_IsUniqueAndInsideItsClassRange()
    {
        Dictionary<string, Range> ranges = Registry().ToDictionary(r => r.Class);
        var messages = Messages().ToList();
        Assert.NotEmpty(messages);
        var problems = new List<string>();
        foreach (var m in messages)
        {
            if (!ranges.TryGetValue(m.Class, out Range? r))
            {
                problems.Add($"{m.Class}.{m.Method} (id {m.Id}): its class has no row in the registry (docs/loop.md, \"Logging\")");
            }
            else if (m.Id < r.First || m.Id > r.Last)
            {
                problems.Add($"{m.Class}.{m.Method}: id {m.Id} is outside its class's range {r.First}–{r.Last}");
            }
        }
        foreach (var dup in messages.GroupBy(m => m.Id).Where(g => g.Count() > 1))
        {
            problems.Add($"id {dup.Key} is used by {string.Join(" and ", dup.Select(m => m.Class + "." + m.Method))}");
        }
        Assert.Empty(problems);
    }
}
