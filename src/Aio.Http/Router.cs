// Router: method + path templates → handlers.
//
// Design note. A template is split at '/' into literal segments, typed parameters {name} {name:int}
// {name:long} {name:guid} {name:alpha}, and one final catch-all {*name}. Matching runs on the raw path bytes
// of the request (no string for the path unless a parameter is captured), segment by segment; a literal
// segment holding a percent escape is compared after decoding. Routes are tried in the order they were added.
// No route for the path: 404. Routes for the path but not the method: 405 with Allow (a GET route also
// answers HEAD, unless a HEAD route was added). Named routes build URLs back (UrlFor).
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Aio.Http;

/// <summary>
/// Maps a method and a path to a handler: <c>app.Router.Get("/users/{id:int}", handler)</c>. Templates have literal
/// segments, parameters <c>{name}</c> (any segment), <c>{name:int}</c>, <c>{name:long}</c>, <c>{name:guid}</c>,
/// <c>{name:alpha}</c>, and a final catch-all <c>{*name}</c> (the rest of the path, maybe empty).
/// </summary>
/// <remarks>Add routes before the server starts. Unknown path: 404; known path, other method: 405 with Allow.</remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class Router
{
    private readonly List<Route> _routes = new();
    private readonly Dictionary<string, Route> _named = new(StringComparer.Ordinal);

    internal Router()
    {
    }

    /// <summary>Adds a GET route (which also answers HEAD).</summary>
    public Router Get(string template, Func<Request, Response> handler, string? name = null) => Route("GET", template, handler, name);

    /// <summary>Adds a GET route (which also answers HEAD).</summary>
    [OverloadResolutionPriority(1)]
    public Router Get(string template, Handler handler, string? name = null) => Route("GET", template, handler, name);

    /// <summary>Adds a POST route.</summary>
    public Router Post(string template, Func<Request, Response> handler, string? name = null) => Route("POST", template, handler, name);

    /// <summary>Adds a POST route.</summary>
    [OverloadResolutionPriority(1)]
    public Router Post(string template, Handler handler, string? name = null) => Route("POST", template, handler, name);

    /// <summary>Adds a PUT route.</summary>
    public Router Put(string template, Func<Request, Response> handler, string? name = null) => Route("PUT", template, handler, name);

    /// <summary>Adds a PUT route.</summary>
    [OverloadResolutionPriority(1)]
    public Router Put(string template, Handler handler, string? name = null) => Route("PUT", template, handler, name);

    /// <summary>Adds a DELETE route.</summary>
    public Router Delete(string template, Func<Request, Response> handler, string? name = null) => Route("DELETE", template, handler, name);

    /// <summary>Adds a DELETE route.</summary>
    [OverloadResolutionPriority(1)]
    public Router Delete(string template, Handler handler, string? name = null) => Route("DELETE", template, handler, name);

    /// <summary>Adds a PATCH route.</summary>
    public Router Patch(string template, Func<Request, Response> handler, string? name = null) => Route("PATCH", template, handler, name);

    /// <summary>Adds a PATCH route.</summary>
    [OverloadResolutionPriority(1)]
    public Router Patch(string template, Handler handler, string? name = null) => Route("PATCH", template, handler, name);

    /// <summary>
    /// Adds a WebSocket route: a GET whose handshake is validated and answered (see
    /// <see cref="Response.WebSocket(Request, Func{AioWebSocket, Task}, AioWebSocketOptions?)"/>), then
    /// <paramref name="handler"/> talks over the WebSocket in the request's task and cancel scope.
    /// <c>app.Router.WebSocket("/ws", async (ws, req) =&gt; { await foreach (var m in ws) await ws.SendTextAsync(m.Text); })</c>.
    /// </summary>
    public Router WebSocket(string template, Func<AioWebSocket, Request, Task> handler, AioWebSocketOptions? options = null, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Route("GET", template, req => Response.WebSocket(req, ws => handler(ws, req), options), name);
    }

    /// <summary>Adds a route for <paramref name="method"/> with a handler that answers synchronously.</summary>
    public Router Route(string method, string template, Func<Request, Response> handler, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Route(method, template, r => new ValueTask<Response>(handler(r)), name);
    }

    /// <summary>Adds a route for <paramref name="method"/> ("*" for any method).</summary>
    /// <exception cref="ArgumentException">The template is malformed, or the name is taken.</exception>
    public Router Route(string method, string template, Handler handler, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(handler);
        var route = new Route(method.ToUpperInvariant(), template, handler, name);
        if (name is not null && !_named.TryAdd(name, route))
        {
            throw new ArgumentException($"The route name '{name}' is already used by {_named[name]}; give each route its own name.", nameof(name));
        }
        _routes.Add(route);
        return this;
    }

    /// <summary>
    /// Serves the files under <paramref name="directory"/> at <paramref name="prefix"/> (aiohttp's <c>add_static</c>):
    /// GET and HEAD of <c>prefix/some/file.css</c> answer with the file, with content type, ETag, Last-Modified,
    /// conditional requests (304, 412), byte ranges (206, 416) and precompressed siblings. Nothing outside the directory
    /// is reachable (dot segments, encoded slashes, backslashes, NUL, links out of it: 404). See docs/static-files.md.
    /// </summary>
    /// <param name="prefix">The URL path the files appear under ("/static"); "/" for the site's root.</param>
    /// <param name="directory">The directory served; it must exist.</param>
    /// <param name="options">Index file, listing, dotfiles, Cache-Control, precompression; null for the defaults.</param>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    public Router Static(string prefix, string directory, StaticFileOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(directory);
        var files = new Internal.StaticFiles(prefix, directory, options ?? new StaticFileOptions());
        return Route("GET", prefix.TrimEnd('/') + "/{*path}", files.HandleAsync);
    }

    /// <summary>The routes in the order they are tried.</summary>
    public IReadOnlyList<Route> Routes => _routes;

    /// <summary>Builds the path of the route named <paramref name="name"/> with its parameters (escaped).</summary>
    /// <exception cref="KeyNotFoundException">No route has that name.</exception>
    /// <exception cref="ArgumentException">A parameter of the template is missing from <paramref name="values"/>.</exception>
    public string UrlFor(string name, params (string Name, object? Value)[] values)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!_named.TryGetValue(name, out Route? route))
        {
            throw new KeyNotFoundException($"No route is named '{name}'; name it when adding it: Router.Get(template, handler, name: \"{name}\").");
        }
        return route.BuildUrl(values);
    }

    /// <summary>Finds the handler for a request; null and the status to answer (404/405) if none.</summary>
    internal Route? Match(string method, ReadOnlySpan<byte> path, List<KeyValuePair<string, string>> captures, out bool pathKnown)
    {
        pathKnown = false;
        Route? getForHead = null;
        foreach (Route r in _routes)
        {
            bool methodMatches = r.Method == method || r.Method == "*";
            bool headViaGet = !methodMatches && method == "HEAD" && r.Method == "GET" && getForHead is null;
            int mark = captures.Count;
            if (!r.TryMatch(path, captures))
            {
                continue;
            }
            if (methodMatches)
            {
                return r;
            }
            pathKnown = true;
            if (headViaGet)
            {
                getForHead = r;
                continue;     // an explicit HEAD route later in the list wins; keep the GET's captures otherwise
            }
            captures.RemoveRange(mark, captures.Count - mark);
        }
        if (getForHead is not null)
        {
            captures.Clear();
            getForHead.TryMatch(path, captures);
            return getForHead;
        }
        return null;
    }

    /// <summary>The methods the routes matching <paramref name="path"/> accept, for Allow.</summary>
    internal string AllowedMethods(ReadOnlySpan<byte> path)
    {
        var methods = new List<string>();
        var scratch = new List<KeyValuePair<string, string>>();
        foreach (Route r in _routes)
        {
            scratch.Clear();
            if (r.TryMatch(path, scratch) && r.Method != "*")
            {
                if (!methods.Contains(r.Method))
                {
                    methods.Add(r.Method);
                }
                if (r.Method == "GET" && !methods.Contains("HEAD"))
                {
                    methods.Add("HEAD");
                }
            }
        }
        return string.Join(", ", methods);
    }

    /// <inheritdoc/>
    public override string ToString() => $"<Router routes:{_routes.Count}>";
}

/// <summary>One route: a method, a path template and its handler.</summary>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class Route
{
    private enum SegmentKind : byte
    {
        Literal,
        Any,
        Int,
        Long,
        Guid,
        Alpha,
        CatchAll,
    }

    private readonly record struct Segment(SegmentKind Kind, string Text, byte[] Bytes);

    private readonly Segment[] _segments;

    internal Route(string method, string template, Handler handler, string? name)
    {
        Method = method;
        Template = template;
        Handler = handler;
        Name = name;
        _segments = Parse(template);
    }

    /// <summary>The method ("GET", ..., or "*" for any).</summary>
    public string Method { get; }

    /// <summary>The path template.</summary>
    public string Template { get; }

    /// <summary>The route's name for <see cref="Router.UrlFor"/>; null if unnamed.</summary>
    public string? Name { get; }

    internal Handler Handler { get; }

    private static Segment[] Parse(string template)
    {
        if (template.Length == 0 || template[0] != '/')
        {
            throw new ArgumentException($"The route template '{template}' must start with '/'.", nameof(template));
        }
        string[] parts = template[1..].Split('/');
        var segments = new Segment[parts.Length];
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < parts.Length; i++)
        {
            string p = parts[i];
            if (p.Length >= 2 && p[0] == '{' && p[^1] == '}')
            {
                string inner = p[1..^1];
                SegmentKind kind;
                string pname;
                if (inner.StartsWith('*'))
                {
                    if (i != parts.Length - 1)
                    {
                        throw new ArgumentException($"In the route template '{template}' the catch-all '{p}' must be the last segment.", nameof(template));
                    }
                    kind = SegmentKind.CatchAll;
                    pname = inner[1..];
                }
                else
                {
                    int colon = inner.IndexOf(':', StringComparison.Ordinal);
                    pname = colon < 0 ? inner : inner[..colon];
                    string type = colon < 0 ? "" : inner[(colon + 1)..];
                    kind = type switch
                    {
                        "" => SegmentKind.Any,
                        "int" => SegmentKind.Int,
                        "long" => SegmentKind.Long,
                        "guid" => SegmentKind.Guid,
                        "alpha" => SegmentKind.Alpha,
                        _ => throw new ArgumentException($"In the route template '{template}' the parameter type '{type}' is unknown; use int, long, guid or alpha, or none.", nameof(template)),
                    };
                }
                if (pname.Length == 0 || !names.Add(pname))
                {
                    throw new ArgumentException($"In the route template '{template}' the parameter '{p}' has no name or repeats one.", nameof(template));
                }
                segments[i] = new Segment(kind, pname, []);
            }
            else
            {
                if (p.Contains('{', StringComparison.Ordinal) || p.Contains('}', StringComparison.Ordinal))
                {
                    throw new ArgumentException($"In the route template '{template}' the segment '{p}' mixes text and a parameter; a parameter takes a whole segment.", nameof(template));
                }
                segments[i] = new Segment(SegmentKind.Literal, p, Encoding.UTF8.GetBytes(p));
            }
        }
        return segments;
    }

    /// <summary>Matches the raw path (starting with '/'); adds the captured parameters (decoded) on success.</summary>
    internal bool TryMatch(ReadOnlySpan<byte> path, List<KeyValuePair<string, string>> captures)
    {
        if (path.Length == 0 || path[0] != '/')
        {
            return false;
        }
        int mark = captures.Count;
        int pos = 1;
        for (int s = 0; s < _segments.Length; s++)
        {
            Segment seg = _segments[s];
            if (seg.Kind == SegmentKind.CatchAll)
            {
                captures.Add(new(seg.Text, Decode(path[Math.Min(pos, path.Length)..])));
                return true;
            }
            if (pos > path.Length)
            {
                return Fail(captures, mark);
            }
            int slash = path[pos..].IndexOf((byte)'/');
            int end = slash < 0 ? path.Length : pos + slash;
            ReadOnlySpan<byte> raw = path[pos..end];
            bool last = s == _segments.Length - 1;
            if (last != (slash < 0))
            {
                return Fail(captures, mark);
            }
            if (seg.Kind == SegmentKind.Literal)
            {
                if (!raw.SequenceEqual(seg.Bytes) && !(raw.Contains((byte)'%') && Decode(raw) == seg.Text))
                {
                    return Fail(captures, mark);
                }
            }
            else
            {
                if (raw.Length == 0)
                {
                    return Fail(captures, mark);
                }
                string value = Decode(raw);
                bool ok = seg.Kind switch
                {
                    SegmentKind.Int => int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _),
                    SegmentKind.Long => long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _),
                    SegmentKind.Guid => System.Guid.TryParse(value, out _),
                    SegmentKind.Alpha => IsAlpha(value),
                    _ => true,
                };
                if (!ok)
                {
                    return Fail(captures, mark);
                }
                captures.Add(new(seg.Text, value));
            }
            pos = end + 1;
        }
        return true;
    }

    private static bool Fail(List<KeyValuePair<string, string>> captures, int mark)
    {
        captures.RemoveRange(mark, captures.Count - mark);
        return false;
    }

    private static bool IsAlpha(string s)
    {
        foreach (char c in s)
        {
            if (!char.IsAsciiLetter(c))
            {
                return false;
            }
        }
        return true;
    }

    internal static string Decode(ReadOnlySpan<byte> raw)
    {
        if (raw.Length == 0)
        {
            return "";
        }
        string s = Encoding.UTF8.GetString(raw);
        return raw.Contains((byte)'%') ? Uri.UnescapeDataString(s) : s;
    }

    internal string BuildUrl((string Name, object? Value)[] values)
    {
        var sb = new StringBuilder();
        foreach (Segment seg in _segments)
        {
            sb.Append('/');
            if (seg.Kind == SegmentKind.Literal)
            {
                sb.Append(seg.Text);
                continue;
            }
            string? value = null;
            foreach ((string n, object? v) in values)
            {
                if (n == seg.Text)
                {
                    value = Convert.ToString(v, CultureInfo.InvariantCulture);
                }
            }
            if (value is null)
            {
                throw new ArgumentException($"The route '{Name}' ({Template}) needs a value for '{seg.Text}'.", nameof(values));
            }
            if (seg.Kind == SegmentKind.CatchAll)
            {
                sb.Append(string.Join('/', value.Split('/').Select(Uri.EscapeDataString)));
            }
            else
            {
                sb.Append(Uri.EscapeDataString(value));
            }
        }
        return sb.ToString();
    }

    /// <inheritdoc/>
    public override string ToString() => Name is null ? $"<Route {Method} {Template}>" : $"<Route {Method} {Template} name={Name}>";
}
