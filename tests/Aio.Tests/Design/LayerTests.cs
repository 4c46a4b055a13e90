using System.Text.RegularExpressions;

namespace Aio.Tests.Design;

/// <summary>
/// The layer table of docs/design.md, enforced: a source file of Aio.dll may name only types declared in its own
/// layer or in the layers it builds on. A folder is a layer; the check reads the sources (comments and string
/// literals removed) and looks for identifiers that name a type of a layer the file may not use.
/// </summary>
public sealed partial class LayerTests
{
    /// <summary>Each layer and the layers it may use. Net and Os are siblings: neither may use the other.</summary>
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["poller"] = [],
        ["kernel"] = ["poller"],
        ["sync"] = ["kernel", "poller"],
        ["streams"] = ["sync", "kernel", "poller"],
        ["net"] = ["streams", "sync", "kernel", "poller"],
        ["os"] = ["streams", "sync", "kernel", "poller"],
        ["facade"] = ["net", "os", "streams", "sync", "kernel", "poller"],   // Aio.Testing, above everything
    };

    /// <summary>The layer of a source file, by its path under src/Aio.</summary>
    private static string LayerOf(string relative)
    {
        string first = relative.Split('/')[0];
        return first switch
        {
            "Polling" => "poller",
            "Internal" or "Tasks" or "Time" or "LowLevel" or "Errors" => "kernel",
            "Sync" => "sync",
            "Streams" => "streams",
            "Net" => "net",
            "Os" => "os",
            "Testing" => "facade",
            // The Asyncio facade is one partial class: each layer adds its part of it.
            "Asyncio.Net.cs" => "net",
            "Asyncio.Processes.cs" => "os",
            _ when first.StartsWith("EventLoop", StringComparison.Ordinal) || first.StartsWith("Asyncio", StringComparison.Ordinal)
                || first is "Handle.cs" or "ExceptionContext.cs" or "Runner.cs" => "kernel",
            _ => throw new InvalidOperationException($"src/Aio/{relative} is in no layer: add its folder to LayerTests.LayerOf and to the table in docs/design.md."),
        };
    }

    [Fact]
    public void AioSources_EachLayer_NamesOnlyTypesOfTheLayersBelow()
    {
        string src = Path.Combine(FindRoot(), "src", "Aio");
        var files = Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(src, f).Replace('\\', '/'))
            .Where(f => !f.StartsWith("obj/", StringComparison.Ordinal) && !f.StartsWith("bin/", StringComparison.Ordinal))
            .ToDictionary(f => f, f => File.ReadAllText(Path.Combine(src, f)));
        List<string> violations = Check(files);
        Assert.True(violations.Count == 0, "Layer violations (fix the reference, or move the type to the right layer):\n" + string.Join("\n", violations));
    }

    [Fact]
    public void Packages_InternalsVisibleTo_OnlyTestProjects()
    {
        // New packages build on the public and Aio.LowLevel surface, never on internals.
        var offenders =
            from dir in Directory.GetDirectories(Path.Combine(FindRoot(), "src"))
            where Path.GetFileName(dir) != "Aio.Testing.Xunit.V3"   // not loadable beside xunit v2; its csproj is checked below
            let assembly = System.Reflection.Assembly.Load(Path.GetFileName(dir))
            from attr in assembly.GetCustomAttributes(typeof(System.Runtime.CompilerServices.InternalsVisibleToAttribute), false)
                .Cast<System.Runtime.CompilerServices.InternalsVisibleToAttribute>()
            where !attr.AssemblyName.EndsWith(".Tests", StringComparison.Ordinal)
            select $"{assembly.GetName().Name} -> {attr.AssemblyName}";
        Assert.Empty(offenders);
        Assert.DoesNotContain("InternalsVisibleTo", File.ReadAllText(Path.Combine(FindRoot(), "src", "Aio.Testing.Xunit.V3", "Aio.Testing.Xunit.V3.csproj")), StringComparison.Ordinal);
    }

    [Fact]
    public void Check_KernelNamingANetOrSyncType_IsReported()
    {
        // The references the layering review found, replayed on a miniature tree: each must be caught.
        var files = new Dictionary<string, string>
        {
            ["Net/Internal/Listener.cs"] = "namespace Aio.Net.Internal;\ninternal abstract class Listener { }",
            ["Os/Internal/Watchdog.cs"] = "namespace Aio.Os.Internal;\ninternal sealed class LoopWatchdog { }",
            ["Sync/Deadlock.cs"] = "namespace Aio;\npublic sealed class DeadlockDetectedException : System.Exception { }",
            ["Net/Internal/StreamTransport.cs"] = "namespace Aio.Net.Internal;\ninternal abstract class StreamTransport { }",
            ["Internal/ReadyQueue.cs"] = "namespace Aio.Internal;\ninternal enum ReadyKind { Action, Listener }",
            ["Net/Internal/Connector.cs"] = "namespace Aio.Net.Internal;\ninternal static class Connector { }",
            ["EventLoop.cs"] = """
                namespace Aio;
                // a comment naming Listener does not count, nor does "Listener" in a string
                public sealed partial class EventLoop
                {
                    private Os.Internal.LoopWatchdog? _watchdog;
                    private ReadyKind _kind = ReadyKind.Listener;
                    void Fail() => throw new DeadlockDetectedException();
                    void Listen() => Connector.Listen(null);
                }
                """,
            ["Os/Internal/PipeTransport.cs"] = "namespace Aio.Os.Internal;\ninternal sealed class PipeTransport : Aio.Net.Internal.StreamTransport { }",
        };
        List<string> violations = Check(files);
        // ReadyKind.Listener (an enum member of the kernel) is not mistaken for the net layer's Listener.
        Assert.Equal(
        [
            "src/Aio/EventLoop.cs (kernel) names Connector (net)",
            "src/Aio/EventLoop.cs (kernel) names DeadlockDetectedException (sync)",
            "src/Aio/EventLoop.cs (kernel) names LoopWatchdog (os)",
            "src/Aio/Os/Internal/PipeTransport.cs (os) names StreamTransport (net)",
        ], violations);
    }

    private static List<string> Check(Dictionary<string, string> files)
    {
        var code = files.ToDictionary(kv => kv.Key, kv => StripCommentsAndStrings(kv.Value));
        // Which layers declare each type name; a name declared in two layers is ambiguous and not checked.
        var declared = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var enumMembers = new Dictionary<string, HashSet<string>>();   // layer -> enum member names declared there
        foreach ((string file, string text) in code)
        {
            string layer = LayerOf(file);
            foreach (Match m in TypeDeclaration().Matches(text))
            {
                string name = m.Groups["name"].Value;
                if (!declared.TryGetValue(name, out HashSet<string>? layers))
                {
                    declared[name] = layers = [];
                }
                layers.Add(layer);
            }
            foreach (Match m in EnumBody().Matches(text))
            {
                if (!enumMembers.TryGetValue(layer, out HashSet<string>? set))
                {
                    enumMembers[layer] = set = [];
                }
                foreach (Match member in Identifier().Matches(m.Groups["body"].Value))
                {
                    set.Add(member.Value);
                }
            }
        }
        var violations = new SortedSet<string>(StringComparer.Ordinal);
        foreach ((string file, string text) in code)
        {
            string layer = LayerOf(file);
            var visible = new HashSet<string>(Allowed[layer].Append(layer));
            var ownMembers = visible.SelectMany(l => enumMembers.GetValueOrDefault(l) ?? []).ToHashSet();
            foreach (Match m in Identifier().Matches(text))
            {
                string name = m.Value;
                if (!declared.TryGetValue(name, out HashSet<string>? layers) || layers.Count != 1 || visible.Overlaps(layers))
                {
                    continue;
                }
                bool memberAccess = m.Index > 0 && text[m.Index - 1] == '.' && !NamespaceQualifier().IsMatch(text[..(m.Index - 1)]);
                if (memberAccess || ownMembers.Contains(name))
                {
                    continue;   // x.Listener (a member), or an enum member of a visible layer spelled like a type
                }
                violations.Add($"src/Aio/{file} ({layer}) names {name} ({layers.Single()})");
            }
        }
        return [.. violations];
    }

    private static string StripCommentsAndStrings(string text)
    {
        text = BlockComment().Replace(text, " ");
        text = LineComment().Replace(text, " ");
        return StringLiteral().Replace(text, "\"\"");
    }

    private static string FindRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Aio.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"No Aio.slnx above {AppContext.BaseDirectory}.");
    }

    // Top-level types only (a file-scoped namespace puts them at column 0): a nested type cannot be named from another layer's file without its outer type.
    [GeneratedRegex(@"^(?:(?:public|internal|sealed|static|abstract|readonly|partial|ref|unsafe|file)\s+)*(?:class|struct|interface|enum|record)\s+(?<name>[A-Z]\w*)", RegexOptions.Multiline)]
    private static partial Regex TypeDeclaration();

    [GeneratedRegex(@"\benum\s+\w+\s*(?::\s*\w+\s*)?\{(?<body>[^}]*)\}")]
    private static partial Regex EnumBody();

    [GeneratedRegex(@"\b[A-Za-z_]\w*\b")]
    private static partial Regex Identifier();

    [GeneratedRegex(@"\b(?:Aio|Internal|Net|Os|Sync|Streams|LowLevel|Polling|Interop)$")]
    private static partial Regex NamespaceQualifier();

    [GeneratedRegex(@"/\*.*?\*/", RegexOptions.Singleline)]
    private static partial Regex BlockComment();

    [GeneratedRegex(@"//[^\n]*")]
    private static partial Regex LineComment();

    [GeneratedRegex(@"@""(?:[^""]|"""")*""|""(?:[^""\\\n]|\\.)*""|'(?:[^'\\\n]|\\.)'")]
    private static partial Regex StringLiteral();
}
