using System.Diagnostics;

namespace Aio.Http;

/// <summary>
/// How <see cref="Router.Static"/> serves a directory. The defaults are the safe ones: no directory index, no
/// listing, no dotfiles, precompressed siblings used when the client accepts them.
/// </summary>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class StaticFileOptions
{
    /// <summary>
    /// The file served for a directory (typically "index.html"); null (the default) serves none. A directory asked for
    /// without its trailing slash is redirected (301) to the path with it, so relative links in the page work.
    /// </summary>
    public string? IndexFile { get; init; }

    /// <summary>
    /// Answers a directory without an index file with an HTML list of its entries (names HTML-escaped; dotfiles left out
    /// unless <see cref="ServeHiddenFiles"/>). Off by default: a listing tells strangers what is there.
    /// </summary>
    public bool DirectoryListing { get; init; }

    /// <summary>Serves files and directories whose name starts with '.' (.env, .git); off by default (404).</summary>
    public bool ServeHiddenFiles { get; init; }

    /// <summary>The Cache-Control field of every answer (e.g. "public, max-age=3600"); null (the default) sends none.</summary>
    public string? CacheControl { get; init; }

    /// <summary>
    /// Serves "name.br" or "name.gz" next to "name" (with Content-Encoding) when the client's Accept-Encoding allows it
    /// and the sibling exists; on by default. Range requests always get the file itself.
    /// </summary>
    public bool Precompressed { get; init; } = true;

    /// <summary>Extra or overriding content types by extension, with the dot (".webmanifest" → "application/manifest+json").</summary>
    public IReadOnlyDictionary<string, string>? ContentTypes { get; init; }

    /// <inheritdoc/>
    public override string ToString() =>
        $"<StaticFileOptions index={IndexFile ?? "none"} listing={DirectoryListing} hidden={ServeHiddenFiles} precompressed={Precompressed}>";
}
