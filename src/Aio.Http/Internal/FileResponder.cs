// FileResponder: the one implementation of a file response, shared by Router.Static and Response.File.
//
// Design note. Serve opens the file (so the validators and the bytes sent belong to the same file even if it is
// replaced meanwhile), takes its length and mtime from the handle, and decides the answer in RFC 9110's order
// (§13.2.2): If-Match (412), else If-Unmodified-Since (412); If-None-Match (304 for GET/HEAD, 412 otherwise), else
// If-Modified-Since (304, GET/HEAD only); then Range, for GET only (§14.2), guarded by If-Range (§13.1.5): one range
// is 206, an unsatisfiable one 416 with "Content-Range: bytes */length", several ranges are ignored (200, the whole
// file; multipart/byteranges is not produced). The ETag is strong, made of the mtime (100 ns ticks) and the size
// (plus the content coding of a precompressed sibling), so If-Match and If-Range can use it.
// The body of a GET up to 32 KiB is read at once and written with the head (one write). A larger body is a streamed
// response of known length whose callback sends the file with the loop's SendFileAsync on a plain socket
// (sendfile(2)), or copies it in 64 KiB blocks otherwise (TLS, the in-memory TestClient); the handle is closed when
// the callback ends (or by its finalizer if the response is never written).
using System.Globalization;
using Microsoft.Win32.SafeHandles;

namespace Aio.Http.Internal;

internal static class FileResponder
{
    private static readonly string[] s_dateFormats =
    [
        "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",     // IMF-fixdate
        "dddd, dd'-'MMM'-'yy HH':'mm':'ss 'GMT'",  // obsolete RFC 850
        "ddd MMM d HH':'mm':'ss yyyy",             // obsolete asctime (its double space is allowed by AllowInnerWhite)
    ];

    /// <summary>What to serve: the file, how to label it, and the precompressed sibling chosen (null: none).</summary>
    internal readonly record struct FileTarget(string Path, string ContentType, string? CacheControl, string? Encoding, string? EncodedPath, bool VaryOnEncoding);

    /// <summary>The answer for <paramref name="request"/> about <paramref name="target"/>; 404 if the file cannot be opened.</summary>
    public static Response Serve(Request request, FileTarget target)
    {
        string method = request.Method;
        bool getOrHead = method is "GET" or "HEAD";
        string? rangeHeader = method == "GET" ? Joined(request, "Range") : null;
        string? encoding = rangeHeader is null ? target.Encoding : null;   // a range always addresses the file itself
        string path = encoding is null ? target.Path : target.EncodedPath!;
        SafeFileHandle handle;
        long length;
        DateTime mtime;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return NotFound();
        }
        try
        {
            length = RandomAccess.GetLength(handle);
            mtime = File.GetLastWriteTimeUtc(handle);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            handle.Dispose();
            return NotFound();
        }

        string etag = string.Create(CultureInfo.InvariantCulture, $"\"{mtime.Ticks:x}-{length:x}{(encoding is null ? "" : "-" + encoding)}\"");
        var lastModified = new DateTime(mtime.Ticks - (mtime.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);

        int status = Preconditions(request, getOrHead, etag, lastModified);
        if (status != 0)
        {
            handle.Dispose();
            Response r = Response.Status(status);
            if (status == 304)
            {
                r.Headers["ETag"] = etag;
                AddCaching(r, target);
            }
            return r;
        }

        long offset = 0;
        long count = length;
        status = 200;
        string? contentRange = null;
        if (rangeHeader is not null && IfRangeHolds(request, etag, lastModified))
        {
            switch (ParseRange(rangeHeader, length, out long first, out long last))
            {
                case RangeResult.One:
                    status = 206;
                    offset = first;
                    count = last - first + 1;
                    contentRange = string.Create(CultureInfo.InvariantCulture, $"bytes {first}-{last}/{length}");
                    break;
                case RangeResult.Unsatisfiable:
                    handle.Dispose();
                    Response r416 = Response.Status(416);
                    r416.Headers["Content-Range"] = string.Create(CultureInfo.InvariantCulture, $"bytes */{length}");
                    r416.Headers["Accept-Ranges"] = "bytes";
                    return r416;
                default:
                    break;   // no valid range, or several: the whole file
            }
        }

        Response response = method == "GET" && count <= SmallFile && ReadSmall(handle, offset, count) is byte[] bytes
            ? Response.Bytes(bytes, target.ContentType, status)
            : Response.Stream(w => SendAsync(w, handle, offset, count), target.ContentType, status, count);
        ResponseHeaders h = response.Headers;
        h["ETag"] = etag;
        h["Last-Modified"] = lastModified.ToString("r", CultureInfo.InvariantCulture);
        h["Accept-Ranges"] = "bytes";
        h["X-Content-Type-Options"] = "nosniff";
        if (contentRange is not null)
        {
            h["Content-Range"] = contentRange;
        }
        if (encoding is not null)
        {
            h["Content-Encoding"] = encoding;
        }
        AddCaching(response, target);
        return response;
    }

    /// <summary>
    /// Up to this many bytes a GET's body is read at once and goes out with the head in one write: for a small file one
    /// system call beats a write plus a sendfile (and their two TCP segments).
    /// </summary>
    internal const int SmallFile = 32 * 1024;

    /// <summary>Reads a small body whole and closes the file; null (file kept open) if it ended early.</summary>
    private static byte[]? ReadSmall(SafeFileHandle handle, long offset, long count)
    {
        var bytes = new byte[count];
        int read = 0;
        while (read < count)
        {
            int n = RandomAccess.Read(handle, bytes.AsSpan(read), offset + read);
            if (n == 0)
            {
                return null;   // it shrank: the streamed path ends the connection as it should
            }
            read += n;
        }
        handle.Dispose();
        return bytes;
    }

    private static void AddCaching(Response r, FileTarget target)
    {
        if (target.CacheControl is string cc)
        {
            r.Headers["Cache-Control"] = cc;
        }
        if (target.VaryOnEncoding)
        {
            r.Headers["Vary"] = "Accept-Encoding";
        }
    }

    private static async Task SendAsync(ResponseBodyWriter writer, SafeFileHandle handle, long offset, long count)
    {
        using (handle)
        {
            await writer.SendFileAsync(handle, offset, count);
        }
    }

    private static Response NotFound() => Response.Text("404 Not Found", 404);

    /// <summary>All the field lines of <paramref name="name"/> joined with ", "; null if absent.</summary>
    private static string? Joined(Request request, string name)
    {
        IReadOnlyList<string> all = request.Headers.GetAll(name);
        return all.Count switch
        {
            0 => null,
            1 => all[0],
            _ => string.Join(", ", all),
        };
    }

    // ===================================================================== preconditions (RFC 9110 §13.2.2)

    /// <summary>0 to go on, or the status that answers (304 or 412).</summary>
    internal static int Preconditions(Request request, bool getOrHead, string etag, DateTime lastModified)
    {
        // Step 1-2: If-Match, else If-Unmodified-Since.
        if (Joined(request, "If-Match") is string ifMatch)
        {
            if (!ListMatches(ifMatch, etag, strong: true))
            {
                return 412;
            }
        }
        else if (Joined(request, "If-Unmodified-Since") is string ius && TryParseDate(ius, out DateTime since) && lastModified > since)
        {
            return 412;
        }
        // Step 3-4: If-None-Match, else If-Modified-Since (GET and HEAD only).
        if (Joined(request, "If-None-Match") is string ifNoneMatch)
        {
            if (ListMatches(ifNoneMatch, etag, strong: false))
            {
                return getOrHead ? 304 : 412;
            }
        }
        else if (getOrHead && Joined(request, "If-Modified-Since") is string ims && TryParseDate(ims, out DateTime modSince) && lastModified <= modSince)
        {
            return 304;
        }
        return 0;
    }

    /// <summary>If-Range (§13.1.5): absent, or a strong match of the ETag, or exactly the Last-Modified date.</summary>
    private static bool IfRangeHolds(Request request, string etag, DateTime lastModified)
    {
        if (Joined(request, "If-Range") is not string ifRange)
        {
            return true;
        }
        ifRange = ifRange.Trim();
        if (ifRange.StartsWith('"') || ifRange.StartsWith("W/", StringComparison.Ordinal))
        {
            return !ifRange.StartsWith("W/", StringComparison.Ordinal) && ifRange == etag;
        }
        return TryParseDate(ifRange, out DateTime date) && date == lastModified;
    }

    /// <summary>Whether the entity-tag list <paramref name="field"/> ("*" or tags) matches <paramref name="etag"/>.</summary>
    internal static bool ListMatches(string field, string etag, bool strong)
    {
        ReadOnlySpan<char> s = field.AsSpan().Trim();
        if (s.SequenceEqual("*"))
        {
            return true;
        }
        int i = 0;
        while (i < s.Length)
        {
            while (i < s.Length && (s[i] is ' ' or '\t' or ','))
            {
                i++;
            }
            if (i >= s.Length)
            {
                break;
            }
            bool weak = false;
            if (s[i] == 'W' && i + 1 < s.Length && s[i + 1] == '/')
            {
                weak = true;
                i += 2;
            }
            if (i >= s.Length || s[i] != '"')
            {
                return false;   // malformed list: no match
            }
            int close = s[(i + 1)..].IndexOf('"');
            if (close < 0)
            {
                return false;
            }
            ReadOnlySpan<char> tag = s.Slice(i, close + 2);
            i += close + 2;
            if (tag.SequenceEqual(etag) && !(strong && weak))
            {
                return true;
            }
        }
        return false;
    }

    internal static bool TryParseDate(string text, out DateTime date)
    {
        if (DateTime.TryParseExact(text.Trim(), s_dateFormats, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowInnerWhite, out date))
        {
            date = DateTime.SpecifyKind(date, DateTimeKind.Utc);
            return true;
        }
        return false;
    }

    // ===================================================================== Range (RFC 9110 §14.1.2)

    internal enum RangeResult
    {
        Ignore,          // not a valid bytes range set, or several ranges: serve the whole file
        One,
        Unsatisfiable,
    }

    internal static RangeResult ParseRange(string header, long length, out long first, out long last)
    {
        first = last = 0;
        ReadOnlySpan<char> s = header.AsSpan().Trim();
        if (!s.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase))
        {
            return RangeResult.Ignore;
        }
        s = s[6..];
        int specs = 0;
        bool satisfiable = false;
        foreach (Range part in s.Split(','))
        {
            ReadOnlySpan<char> spec = s[part].Trim();
            if (spec.IsEmpty)
            {
                continue;   // empty list elements are allowed
            }
            int dash = spec.IndexOf('-');
            if (dash < 0)
            {
                return RangeResult.Ignore;
            }
            ReadOnlySpan<char> a = spec[..dash];
            ReadOnlySpan<char> b = spec[(dash + 1)..];
            long f, l;
            if (a.IsEmpty)
            {
                // suffix-range: the last N bytes; "-0", or any suffix of an empty file, is unsatisfiable
                if (!TryDigits(b, out long n))
                {
                    return RangeResult.Ignore;
                }
                specs++;
                if (n == 0 || length == 0)
                {
                    continue;
                }
                f = Math.Max(0, length - n);
                l = length - 1;
            }
            else
            {
                if (!TryDigits(a, out f))
                {
                    return RangeResult.Ignore;
                }
                if (b.IsEmpty)
                {
                    l = length - 1;
                }
                else if (!TryDigits(b, out l) || l < f)
                {
                    return RangeResult.Ignore;   // last < first makes the whole set invalid (§14.1.1)
                }
                specs++;
                if (f >= length)
                {
                    continue;
                }
                l = Math.Min(l, length - 1);
            }
            if (!satisfiable)
            {
                satisfiable = true;
                first = f;
                last = l;
            }
        }
        if (specs == 0)
        {
            return RangeResult.Ignore;
        }
        if (specs > 1)
        {
            return satisfiable ? RangeResult.Ignore : RangeResult.Unsatisfiable;
        }
        return satisfiable ? RangeResult.One : RangeResult.Unsatisfiable;
    }

    private static bool TryDigits(ReadOnlySpan<char> s, out long value)
    {
        value = 0;
        if (s.IsEmpty || s.Length > 18)
        {
            return false;
        }
        foreach (char c in s)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
            value = (value * 10) + (c - '0');
        }
        return true;
    }
}
