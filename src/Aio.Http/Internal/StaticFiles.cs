// StaticFiles: the handler behind Router.Static — from a raw request path to a file inside the root, or 404.
//
// Design note. The part of the path after the prefix is taken from the RAW request target and checked segment by
// segment before anything touches the file system; a segment is refused (404) if, raw, it holds an encoded '/' or
// '\' (%2F, %5C) or an encoded NUL, or, decoded once, it is empty (//, an absolute path), "." or "..", holds '\', ':'
// (a drive letter, an NTFS stream), NUL or another control character, or starts with '.' (a dotfile) unless hidden
// files are allowed. Percent-decoding happens exactly once, so "%252e%252e" names a file called "%2e%2e". The checked
// segments are then walked from the root's real path: a symbolic link is followed only if its final target, with
// every directory on the way resolved, is still inside the root. Anything else that is not a regular file or a
// directory is 404 too. Directories: a trailing-slash redirect and the index file, or a listing, or 404 (the default).
// A listing shows only what a request could reach (the same name rules, links followed only inside the root).
using System.Net;
using System.Text;

namespace Aio.Http.Internal;

internal sealed class StaticFiles
{
    private readonly int _prefixSegments;       // literal segments of the prefix, skipped in the raw path
    private readonly string _root;              // the root directory's real path (symbolic links resolved)
    private readonly StaticFileOptions _options;

    public StaticFiles(string prefix, string directory, StaticFileOptions options)
    {
        _prefixSegments = prefix.Split('/', StringSplitOptions.RemoveEmptyEntries).Length;
        string full = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(full))
        {
            throw new DirectoryNotFoundException($"Router.Static(\"{prefix}\", \"{directory}\"): the directory {full} does not exist; create it or fix the path.");
        }
        _root = RealPath(full) ?? full;
        _options = options;
    }

    public ValueTask<Response> HandleAsync(Request request) => new(Handle(request));

    private Response Handle(Request request)
    {
        ReadOnlySpan<byte> raw = request.RawPathSpan;
        // Skip "/" and the prefix's segments; what remains is the path inside the root.
        int pos = 1;
        for (int i = 0; i < _prefixSegments; i++)
        {
            int slash = raw[pos..].IndexOf((byte)'/');
            if (slash < 0)
            {
                return NotFound(request, "no path after the prefix");
            }
            pos += slash + 1;
        }
        ReadOnlySpan<byte> rest = raw[pos..];
        bool trailingSlash = rest.IsEmpty || rest[^1] == '/';
        var segments = new List<string>();
        if (!rest.IsEmpty)
        {
            ReadOnlySpan<byte> body = trailingSlash ? rest[..^1] : rest;
            foreach (Range r in body.Split((byte)'/'))
            {
                if (CheckSegment(body[r], out string? segment) is string why)
                {
                    return NotFound(request, why);
                }
                segments.Add(segment!);
            }
        }

        string current = _root;
        foreach (string seg in segments)
        {
            string? next = Step(current, seg);
            if (next is null)
            {
                return NotFound(request, "no such file inside the root (or a link out of it)");
            }
            current = next;
        }

        if (System.IO.Directory.Exists(current))
        {
            return ServeDirectory(request, current, trailingSlash);
        }
        if (trailingSlash || !File.Exists(current))
        {
            return NotFound(request, "not a regular file");
        }
        return Serve(request, current);
    }

    private Response Serve(Request request, string path)
    {
        string? encoding = null;
        string? encodedPath = null;
        if (_options.Precompressed && request.Headers["Accept-Encoding"] is string accept)
        {
            (encoding, encodedPath) = ChooseSibling(path, accept);
        }
        string type = ContentTypes.For(path, _options.ContentTypes);
        var target = new FileResponder.FileTarget(path, type, _options.CacheControl, encoding, encodedPath, _options.Precompressed);
        return FileResponder.Serve(request, target);
    }

    /// <summary>The best precompressed sibling the client accepts (br before gzip at equal q), or none.</summary>
    private static (string? Encoding, string? Path) ChooseSibling(string path, string accept)
    {
        double br = AcceptQuality(accept, "br");
        double gzip = AcceptQuality(accept, "gzip");
        Span<(string Encoding, string Suffix, double Q)> choices =
        [
            br >= gzip ? ("br", ".br", br) : ("gzip", ".gz", gzip),
            br >= gzip ? ("gzip", ".gz", gzip) : ("br", ".br", br),
        ];
        foreach ((string enc, string suffix, double q) in choices)
        {
            if (q <= 0)
            {
                continue;
            }
            string sibling = path + suffix;
            var info = new FileInfo(sibling);
            if (info.Exists && info.LinkTarget is null)
            {
                return (enc, sibling);
            }
        }
        return (null, null);
    }

    /// <summary>The q-value Accept-Encoding gives <paramref name="coding"/> (its own entry, else "*", else 0).</summary>
    internal static double AcceptQuality(string accept, string coding)
    {
        double star = -1;
        foreach (string item in accept.Split(','))
        {
            string[] parts = item.Split(';');
            string name = parts[0].Trim();
            double q = 1;
            for (int i = 1; i < parts.Length; i++)
            {
                string p = parts[i].Trim();
                if (p.StartsWith("q=", StringComparison.OrdinalIgnoreCase) &&
                    !double.TryParse(p.AsSpan(2), System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out q))
                {
                    q = 0;
                }
            }
            if (name.Equals(coding, StringComparison.OrdinalIgnoreCase))
            {
                return Math.Clamp(q, 0, 1);
            }
            if (name == "*")
            {
                star = Math.Clamp(q, 0, 1);
            }
        }
        return Math.Max(star, 0);
    }

    private Response ServeDirectory(Request request, string dir, bool trailingSlash)
    {
        if (_options.IndexFile is null && !_options.DirectoryListing)
        {
            return NotFound(request, "a directory (no index file or listing configured)");
        }
        if (!trailingSlash)
        {
            string location = HttpChars.Latin1(request.RawPathSpan) + "/" + (request.QueryString.Length > 0 ? "?" + request.QueryString : "");
            var redirect = Response.Status(301);
            redirect.Headers["Location"] = location;
            return redirect;
        }
        if (_options.IndexFile is string index)
        {
            string? indexPath = Step(dir, index);
            if (indexPath is not null && File.Exists(indexPath))
            {
                return Serve(request, indexPath);
            }
        }
        if (!_options.DirectoryListing)
        {
            return NotFound(request, "a directory without its index file");
        }
        return Listing(request, dir);
    }

    /// <summary>
    /// The listing of <paramref name="dir"/> (a real path inside the root): a parent link unless it is the root, then
    /// directories, then files, each in ordinal order, with sizes and modification times. Only entries a request could
    /// reach are shown: no dotfiles (unless hidden files are served), no names a path segment could not carry, no link
    /// that leads out of the root or nowhere.
    /// </summary>
    private Response Listing(Request request, string dir)
    {
        var entries = new List<(string Name, bool IsDir, long Size, DateTime Modified)>();
        foreach (FileSystemInfo e in new DirectoryInfo(dir).EnumerateFileSystemInfos())
        {
            if (!Listable(e.Name) || Step(dir, e.Name) is not string real)
            {
                continue;
            }
            bool isDir = System.IO.Directory.Exists(real);
            FileSystemInfo target = isDir ? new DirectoryInfo(real) : new FileInfo(real);
            entries.Add((e.Name, isDir, isDir ? -1 : ((FileInfo)target).Length, target.LastWriteTimeUtc));
        }
        entries.Sort((a, b) => a.IsDir != b.IsDir ? (a.IsDir ? -1 : 1) : string.CompareOrdinal(a.Name, b.Name));
        string shown = WebUtility.HtmlEncode(request.Path);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of ").Append(shown)
            .Append("</title></head>\n<body><h1>Index of ").Append(shown).Append("</h1>\n<table>\n")
            .Append("<tr><th>Name</th><th>Size</th><th>Modified (UTC)</th></tr>\n");
        if (dir != _root)
        {
            html.Append("<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n");
        }
        foreach ((string name, bool isDir, long size, DateTime modified) in entries)
        {
            string href = Uri.EscapeDataString(name) + (isDir ? "/" : "");
            html.Append("<tr><td><a href=\"").Append(WebUtility.HtmlEncode(href)).Append("\">")
                .Append(WebUtility.HtmlEncode(name)).Append(isDir ? "/" : "").Append("</a></td><td>")
                .Append(isDir ? "-" : size.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append("</td><td>")
                .Append(modified.ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture)).Append("</td></tr>\n");
        }
        html.Append("</table></body></html>\n");
        Response r = Response.Html(html.ToString());
        r.Headers["X-Content-Type-Options"] = "nosniff";
        if (_options.CacheControl is string cc)
        {
            r.Headers["Cache-Control"] = cc;
        }
        return r;
    }

    /// <summary>Whether a listing shows an entry of this name: one a path segment can reach (see <see cref="CheckSegment"/>).</summary>
    private bool Listable(string name)
    {
        if (name.Length == 0 || (name[0] == '.' && !_options.ServeHiddenFiles))
        {
            return false;
        }
        foreach (char c in name)
        {
            if (c is '\\' or ':' or '/' || char.IsControl(c))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Null if the raw segment is acceptable (and its decoded text in <paramref name="segment"/>), else why not.</summary>
    internal string? CheckSegment(ReadOnlySpan<byte> raw, out string? segment)
    {
        segment = null;
        if (raw.IsEmpty)
        {
            return "an empty segment (// or an absolute path)";
        }
        for (int i = 0; i + 2 < raw.Length; i++)
        {
            if (raw[i] == '%')
            {
                int v = (HexValue(raw[i + 1]) << 4) | HexValue(raw[i + 2]);
                if (v is '/' or '\\' or 0)
                {
                    return "an encoded '/', '\\' or NUL";
                }
            }
        }
        string text = Encoding.UTF8.GetString(raw);
        if (raw.Contains((byte)'%'))
        {
            text = Uri.UnescapeDataString(text);
        }
        if (text is "." or "..")
        {
            return "a dot segment";
        }
        foreach (char c in text)
        {
            if (c is '\\' or ':' or '/' || char.IsControl(c))
            {
                return "a backslash, colon or control character";
            }
        }
        if (text[0] == '.' && !_options.ServeHiddenFiles)
        {
            return "a hidden name (dotfile)";
        }
        segment = text;
        return null;
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => 0x100,   // not hex: the value is out of every byte's range
    };

    /// <summary>The real path of <paramref name="seg"/> inside <paramref name="dir"/> (a real path), or null if it does not exist or links out of the root.</summary>
    private string? Step(string dir, string seg)
    {
        string next = Path.Join(dir, seg);
        var info = new FileInfo(next);
        if (info.LinkTarget is null)
        {
            return info.Exists || System.IO.Directory.Exists(next) ? next : null;
        }
        if (RealPath(next) is not string real || !IsUnder(real, _root))
        {
            return null;
        }
        return File.Exists(real) || System.IO.Directory.Exists(real) ? real : null;
    }

    private static bool IsUnder(string path, string root) =>
        path.Length == root.Length ? path == root
        : path.StartsWith(root, StringComparison.Ordinal) && (root.EndsWith(Path.DirectorySeparatorChar) || path[root.Length] == Path.DirectorySeparatorChar);

    /// <summary>The path with every symbolic link on the way resolved (like realpath(3)); null if a link is broken or loops.</summary>
    internal static string? RealPath(string fullPath)
    {
        string root = Path.GetPathRoot(fullPath) ?? "/";
        string current = root;
        int hops = 0;
        var pending = new Stack<string>(fullPath[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Reverse());
        while (pending.Count > 0)
        {
            string seg = pending.Pop();
            if (seg == ".")
            {
                continue;
            }
            if (seg == "..")
            {
                current = Path.GetDirectoryName(current) ?? root;
                continue;
            }
            string next = Path.Join(current, seg);
            string? link = new FileInfo(next).LinkTarget;
            if (link is null)
            {
                current = next;
                continue;
            }
            if (++hops > 40)
            {
                return null;
            }
            string target = Path.IsPathRooted(link) ? link : Path.Join(current, link);
            string troot = Path.GetPathRoot(target) ?? "/";
            foreach (string s in target[troot.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Reverse())
            {
                pending.Push(s);
            }
            current = troot;
        }
        return current;
    }

    private static Response NotFound(Request request, string why)
    {
        request.Connection.Core.Log.StaticRefused(request.RawTarget, why);
        return Response.Text("404 Not Found", 404);
    }

    public override string ToString() => $"<StaticFiles root={_root}>";
}
