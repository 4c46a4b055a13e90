using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Aio.Http.Testing;

/// <summary>A response as a <see cref="TestClient"/> received it.</summary>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class TestResponse
{
    internal TestResponse(int status, string reason, List<KeyValuePair<string, string>> headers, byte[] body)
    {
        Status = status;
        Reason = reason;
        Headers = headers;
        Body = body;
    }

    /// <summary>The status code.</summary>
    public int Status { get; }

    /// <summary>The reason phrase.</summary>
    public string Reason { get; }

    /// <summary>The header fields in order, names as sent.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    /// <summary>The body (de-chunked).</summary>
    public byte[] Body { get; }

    /// <summary>The body as UTF-8 text.</summary>
    public string Text => Encoding.UTF8.GetString(Body);

    /// <summary>The first value of header <paramref name="name"/> (case-insensitive), or null.</summary>
    public string? Header(string name)
    {
        foreach (KeyValuePair<string, string> h in Headers)
        {
            if (string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase))
            {
                return h.Value;
            }
        }
        return null;
    }

    /// <summary>The body parsed as JSON (web defaults).</summary>
    public T? Json<T>(JsonSerializerOptions? options = null) => JsonSerializer.Deserialize<T>(Body, options ?? JsonSerializerOptions.Web);

    /// <inheritdoc/>
    public override string ToString() => $"<TestResponse {Status} {Reason} body:{Body.Length}>";
}
