using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Aio.Tests.Docs;

/// <summary>
/// The docs stand alone and match the code: every C# block of README.md and docs/*.md is a verbatim excerpt
/// of a compiled file under examples/, every relative link leads to an existing file and heading, no doc
/// points outside the repository, and the API map's "done" rows name members that exist.
/// </summary>
public sealed partial class DocsTests
{
    private static readonly string Root = FindRoot();

    private static string FindRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Aio.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"No Aio.slnx above {AppContext.BaseDirectory}: the docs tests must run from the repository's build output.");
    }

    /// <summary>README.md and docs/*.md, as paths relative to the root with '/' separators.</summary>
    private static IEnumerable<string> Docs() =>
        new[] { "README.md" }.Concat(Directory.GetFiles(Path.Combine(Root, "docs"), "*.md")
            .Select(p => "docs/" + Path.GetFileName(p)).Order(StringComparer.Ordinal));

    private static string[] ReadLines(string relative) => File.ReadAllLines(Path.Combine(Root, relative));

    private sealed record Block(string Doc, int Line, string Info, string[] Lines);

    private static readonly Regex Fence = FenceRegex();

    /// <summary>The fenced blocks of a doc, and its other lines (code blocks blanked out).</summary>
    private static (List<Block> Blocks, string[] Prose) Parse(string doc)
    {
        string[] lines = ReadLines(doc);
        var blocks = new List<Block>();
        string[] prose = (string[])lines.Clone();
        for (int i = 0; i < lines.Length; i++)
        {
            Match open = Fence.Match(lines[i]);
            if (!open.Success)
            {
                continue;
            }
            string marker = open.Groups["fence"].Value;
            int start = i;
            var body = new List<string>();
            prose[i] = "";
            for (i++; i < lines.Length; i++)
            {
                prose[i] = "";
                Match close = Fence.Match(lines[i]);
                if (close.Success && close.Groups["fence"].Value.StartsWith(marker, StringComparison.Ordinal)
                    && close.Groups["info"].Value.Length == 0)
                {
                    break;
                }
                body.Add(lines[i]);
            }
            blocks.Add(new Block(doc, start + 1, open.Groups["info"].Value.Trim(), body.ToArray()));
        }
        return (blocks, prose);
    }

    private static bool IsCSharp(Block b) =>
        b.Info.Split(' ')[0].ToLowerInvariant() is "csharp" or "cs" or "c#";

    // ---- 1. code blocks come from compiled examples

    /// <summary>
    /// Folders outside examples/ whose code the docs may quote: the tour (<c>aio tour</c>), which the README walks
    /// through, lives in the aio tool, and its jobs API is compiled into examples/HttpClient too.
    /// </summary>
    private static readonly string[] QuotedSourceFolders = ["src/Aio.Cli/Tour"];

    /// <summary>The .cs files of the projects under examples/ that the solution builds (so CI compiles them), and of <see cref="QuotedSourceFolders"/>.</summary>
    private static Dictionary<string, string[]> ExampleSources()
    {
        var projects = XDocument.Load(Path.Combine(Root, "Aio.slnx")).Descendants("Project")
            .Select(p => (string)p.Attribute("Path")!)
            .Where(p => p.StartsWith("examples/", StringComparison.Ordinal))
            .Select(p => Path.GetDirectoryName(Path.Combine(Root, p))!)
            .Concat(QuotedSourceFolders.Select(f => Path.Combine(Root, f)))
            .ToList();
        var sources = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (string dir in projects)
        {
            foreach (string file in Directory.GetFiles(dir, "*.cs", SearchOption.AllDirectories))
            {
                string rel = Path.GetRelativePath(Root, file).Replace('\\', '/');
                if (rel.Contains("/bin/", StringComparison.Ordinal) || rel.Contains("/obj/", StringComparison.Ordinal))
                {
                    continue;
                }
                sources[rel] = Normalise(File.ReadAllLines(file));
            }
        }
        return sources;
    }

    /// <summary>Lines trimmed at both ends, blank lines dropped: indentation and spacing may differ, nothing else.</summary>
    private static string[] Normalise(IEnumerable<string> lines) =>
        lines.Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();

    private static bool ContainsRun(string[] haystack, string[] needle)
    {
        for (int i = 0; i + needle.Length <= haystack.Length; i++)
        {
            int k = 0;
            while (k < needle.Length && string.Equals(haystack[i + k], needle[k], StringComparison.Ordinal))
            {
                k++;
            }
            if (k == needle.Length)
            {
                return true;
            }
        }
        return false;
    }

    [Fact]
    public void CSharpBlocks_AreVerbatimExcerptsOfCompiledExamples()
    {
        Dictionary<string, string[]> sources = ExampleSources();
        Assert.NotEmpty(sources);
        var failures = new List<string>();
        int checkedBlocks = 0;
        foreach (string doc in Docs())
        {
            foreach (Block block in Parse(doc).Blocks.Where(IsCSharp))
            {
                checkedBlocks++;
                string[] needle = Normalise(block.Lines);
                if (needle.Length == 0 || !sources.Values.Any(s => ContainsRun(s, needle)))
                {
                    string first = needle.FirstOrDefault() ?? "(empty)";
                    failures.Add($"{doc}:{block.Line}: the ```{block.Info} block starting `{first}` is not a verbatim " +
                        "excerpt of any compiled .cs file under examples/ (or src/Aio.Cli/Tour). Put the code into a file of examples/Guides " +
                        "(built in CI) and copy its lines into the doc; a block that is not code a user runs (a signature " +
                        "list, a shape, a tree) should be ```text.");
                }
            }
        }
        Assert.True(checkedBlocks > 0, "no ```csharp block found in the docs: the parser is broken");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void FencedBlocks_AllSayWhatTheyHold()
    {
        // An untagged fence would let C# slip past the excerpt check: tag it csharp, text, sh, ...
        var failures = Docs().SelectMany(d => Parse(d).Blocks)
            .Where(b => b.Info.Length == 0)
            .Select(b => $"{b.Doc}:{b.Line}: a ``` block without a language starting `{b.Lines.FirstOrDefault()?.Trim()}`: " +
                "write ```csharp (and take the code from examples/) or ```text.")
            .ToList();
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    // ---- 2. links lead somewhere

    private static readonly Regex Link = LinkRegex();
    private static readonly Regex InlineCode = InlineCodeRegex();
    private static readonly Regex Heading = HeadingRegex();

    /// <summary>GitHub's anchors for the headings of a markdown file (duplicates get -1, -2, ...).</summary>
    private static HashSet<string> Anchors(string path)
    {
        string rel = Path.GetRelativePath(Root, path).Replace('\\', '/');
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string line in Parse(rel).Prose)
        {
            Match m = Heading.Match(line);
            if (!m.Success)
            {
                continue;
            }
            string slug = Slug(m.Groups["text"].Value);
            if (seen.TryGetValue(slug, out int n))
            {
                seen[slug] = n + 1;
                anchors.Add($"{slug}-{n}");
            }
            else
            {
                seen[slug] = 1;
                anchors.Add(slug);
            }
        }
        return anchors;
    }

    /// <summary>GitHub's slug: the heading's text (links reduced to their text), lower-case, punctuation dropped, spaces to '-'.</summary>
    internal static string Slug(string heading)
    {
        string text = Link.Replace(heading, m => m.Groups["text"].Value).Trim().ToLowerInvariant();
        var sb = new StringBuilder();
        foreach (char c in text)
        {
            UnicodeCategory cat = CharUnicodeInfo.GetUnicodeCategory(c);
            if (c == ' ')
            {
                sb.Append('-');
            }
            else if (c == '-' || char.IsLetterOrDigit(c) || cat is UnicodeCategory.ConnectorPunctuation
                     or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark)
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }

    [Theory]
    [InlineData("Where the code differs", "where-the-code-differs")]
    [InlineData("`Sleep(0)` and timer order", "sleep0-and-timer-order")]
    [InlineData("Shielding — and `Shield`", "shielding--and-shield")]
    [InlineData("The one way to refuse a cancellation", "the-one-way-to-refuse-a-cancellation")]
    [InlineData("asyncio → Aio: the API map", "asyncio--aio-the-api-map")]
    [InlineData("snake_case names", "snake_case-names")]
    public void Slug_FollowsGitHub(string heading, string expected) => Assert.Equal(expected, Slug(heading));

    [Fact]
    public void RelativeLinks_LeadToExistingFilesAndHeadings()
    {
        var failures = new List<string>();
        int checkedLinks = 0;
        foreach (string doc in Docs())
        {
            string[] prose = Parse(doc).Prose;
            string docDir = Path.GetDirectoryName(Path.Combine(Root, doc))!;
            for (int i = 0; i < prose.Length; i++)
            {
                string line = InlineCode.Replace(prose[i], "");
                foreach (Match m in Link.Matches(line))
                {
                    string target = m.Groups["target"].Value.Trim();
                    if (target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal))
                    {
                        continue;
                    }
                    checkedLinks++;
                    int hash = target.IndexOf('#', StringComparison.Ordinal);
                    string file = hash < 0 ? target : target[..hash];
                    string? anchor = hash < 0 ? null : target[(hash + 1)..];
                    string full = file.Length == 0 ? Path.Combine(Root, doc) : Path.GetFullPath(Path.Combine(docDir, Uri.UnescapeDataString(file)));
                    string where = $"{doc}:{i + 1}: link [{m.Groups["text"].Value}]({target})";
                    if (!File.Exists(full) && !Directory.Exists(full))
                    {
                        failures.Add($"{where}: no file {Path.GetRelativePath(Root, full).Replace('\\', '/')} in the repository; fix the path or drop the link.");
                        continue;
                    }
                    if (anchor is not null)
                    {
                        if (!full.EndsWith(".md", StringComparison.Ordinal))
                        {
                            failures.Add($"{where}: an anchor into a file that is not markdown.");
                        }
                        else if (!Anchors(full).Contains(anchor))
                        {
                            failures.Add($"{where}: {Path.GetRelativePath(Root, full).Replace('\\', '/')} has no heading with anchor #{anchor}; " +
                                $"its anchors: {string.Join(", ", Anchors(full).Order(StringComparer.Ordinal))}.");
                        }
                    }
                }
            }
        }
        Assert.True(checkedLinks > 0, "no relative link found in the docs: the parser is broken");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void RepositoryPaths_NamedInDocs_Exist()
    {
        // `src/...`, `tests/...`, `examples/...`, `bench/...`, `docs/...` in prose are paths a reader will look for.
        var failures = new List<string>();
        foreach (string doc in Docs())
        {
            string[] prose = Parse(doc).Prose;
            for (int i = 0; i < prose.Length; i++)
            {
                foreach (Match m in RepoPath().Matches(prose[i]))
                {
                    string path = m.Groups["path"].Value.TrimEnd('/');
                    if (!File.Exists(Path.Combine(Root, path)) && !Directory.Exists(Path.Combine(Root, path)))
                    {
                        failures.Add($"{doc}:{i + 1}: `{path}` does not exist in the repository; name the file as it is.");
                    }
                }
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [GeneratedRegex(@"`(?<path>(?:src|tests|examples|bench|docs)/[^`\s*]+)`")]
    private static partial Regex RepoPath();

    // ---- 3. the repository explains itself

    /// <summary>The docs plus the sources and notes of src/, examples/ and bench/ (their comments are docs too).</summary>
    private static IEnumerable<string> TextFiles()
    {
        string[] extensions = [".cs", ".md", ".csproj", ".props", ".py", ".sh", ".js", ".c", ".h"];
        IEnumerable<string> more = new[] { "src", "examples", "bench" }
            .SelectMany(d => Directory.GetFiles(Path.Combine(Root, d), "*", SearchOption.AllDirectories))
            .Select(f => Path.GetRelativePath(Root, f).Replace('\\', '/'))
            .Where(f => extensions.Contains(Path.GetExtension(f)) && !f.Split('/').Any(part => part is "bin" or "obj" or "node_modules"));
        return Docs().Concat(more.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void DocsAndSources_DoNotPointOutsideTheRepository()
    {
        var failures = new List<string>();
        foreach (string doc in TextFiles())
        {
            string[] lines = ReadLines(doc);
            for (int i = 0; i < lines.Length; i++)
            {
                if (OutsideReference().IsMatch(lines[i]))
                {
                    failures.Add($"{doc}:{i + 1}: `{lines[i].Trim()}` refers to a document outside the repository; " +
                        "link the project doc that says it (docs/design.md, extended if need be).");
                }
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    // ---- 4. the API map's "done" rows name members that exist

    private static readonly Regex Backticked = BacktickedRegex();
    private static readonly Regex Identifier = IdentifierChainRegex();

    [Fact]
    public void ApiMap_DoneRows_NameMembersThatExist()
    {
        Assembly aio = typeof(EventLoop).Assembly;
        Type[] aioTypes = aio.GetExportedTypes();
        var aioTypeByName = aioTypes.GroupBy(t => t.Name.Split('`')[0], StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
        const BindingFlags All = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.FlattenHierarchy;
        HashSet<string> MembersOf(IEnumerable<Type> types) => types
            .SelectMany(t => t.GetMembers(All).Concat(t.GetInterfaces().SelectMany(i => i.GetMembers(All))))
            .Select(m => m.Name.Split('`')[0])
            .ToHashSet(StringComparer.Ordinal);
        HashSet<string> aioMembers = MembersOf(aioTypes);
        // .NET's own names (TimeoutException, IAsyncDisposable, PosixSignal, ...) are fine in the Aio column.
        // Named explicitly: which assemblies happen to be loaded depends on the tests that ran before this one.
        Assembly[] dotnet =
        [
            typeof(System.Net.Sockets.Socket).Assembly, typeof(System.Net.Security.SslStream).Assembly,
            typeof(Microsoft.Extensions.Logging.ILogger).Assembly, typeof(System.Runtime.InteropServices.PosixSignal).Assembly,
            typeof(System.Net.Dns).Assembly,
        ];
        HashSet<string> netTypes = AppDomain.CurrentDomain.GetAssemblies().Concat(dotnet).Distinct().Where(a => a != aio && !a.IsDynamic)
            .SelectMany(a => { try { return a.GetExportedTypes(); } catch (NotSupportedException) { return []; } })
            .SelectMany(t => new[] { t.Name.Split('`')[0] }.Concat((t.Namespace ?? "").Split('.')))
            .ToHashSet(StringComparer.Ordinal);
        netTypes.UnionWith(aioTypes.SelectMany(t => (t.Namespace ?? "").Split('.')));

        var failures = new List<string>();
        int checkedNames = 0;
        string[] lines = ReadLines("docs/api-map.md");
        for (int i = 0; i < lines.Length; i++)
        {
            string[] cells = lines[i].Split('|');
            if (cells.Length < 5 || !cells[3].Trim().StartsWith("done", StringComparison.Ordinal))
            {
                continue;
            }
            foreach (Match span in Backticked.Matches(cells[2]))
            {
                if (span.Groups[1].Value.StartsWith('('))
                {
                    continue;   // a tuple's element names: (Done, Pending)
                }
                string code = Regex.Replace(span.Groups[1].Value, "\"[^\"]*\"", "");
                foreach (Match chain in Identifier.Matches(code))
                {
                    string[] parts = chain.Value.Split('.');
                    for (int k = 0; k < parts.Length; k++)
                    {
                        string name = parts[k];
                        if (!char.IsUpper(name[0]) || name.All(c => char.IsUpper(c) || char.IsDigit(c) || c == '_')
                            || (name.Length > 1 && name[0] == 'T' && char.IsUpper(name[1]) && !aioTypeByName.ContainsKey(name)))
                        {
                            continue;   // variables, keywords, parameters, generic parameters (T, TState), AIO_DEBUG, SIGINT
                        }
                        checkedNames++;
                        if (k > 0 && aioTypeByName.TryGetValue(parts[k - 1], out Type[]? owners))
                        {
                            if (!MembersOf(owners).Contains(name))
                            {
                                failures.Add($"docs/api-map.md:{i + 1}: `{parts[k - 1]}.{name}` is marked done, but {parts[k - 1]} has no public member {name}.");
                            }
                        }
                        else if (!aioTypeByName.ContainsKey(name) && !aioMembers.Contains(name) && !netTypes.Contains(name))
                        {
                            failures.Add($"docs/api-map.md:{i + 1}: `{name}` (in `{span.Groups[1].Value}`) is marked done, but no public Aio type or member has that name.");
                        }
                    }
                }
            }
        }
        Assert.True(checkedNames > 200, $"only {checkedNames} names checked: the table parser is broken");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [GeneratedRegex(@"`([^`]+)`")]
    private static partial Regex BacktickedRegex();

    [GeneratedRegex(@"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")]
    private static partial Regex IdentifierChainRegex();

    [GeneratedRegex(@"^ {0,3}(?<fence>`{3,}|~{3,})(?<info>[^`]*)$")]
    private static partial Regex FenceRegex();

    [GeneratedRegex(@"(?<!!)\[(?<text>[^\]]*)\]\((?<target>[^)\s]+)(?:\s+""[^""]*"")?\)")]
    private static partial Regex LinkRegex();

    [GeneratedRegex(@"`+[^`]*`+")]
    private static partial Regex InlineCodeRegex();

    [GeneratedRegex(@"^ {0,3}#{1,6}\s+(?<text>.*?)\s*#*\s*$")]
    private static partial Regex HeadingRegex();

    [GeneratedRegex(@"\bDESIGN\b|shared/")]
    private static partial Regex OutsideReference();
}
