using System.Collections;
using System.Diagnostics;
using Aio.Http.Internal;

namespace Aio.Http;

/// <summary>
/// The header fields of a <see cref="Request"/>: a view of the receive buffer (strings are made when asked for).
/// Names compare case-insensitively (ASCII); repeated fields are kept in order. Values are decoded as Latin-1.
/// </summary>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class RequestHeaders : IReadOnlyList<KeyValuePair<string, string>>
{
    private readonly Request _request;

    internal RequestHeaders(Request request) => _request = request;

    /// <summary>How many fields there are.</summary>
    public int Count => _request.Head.FieldCount;

    /// <summary>The value of the first field named <paramref name="name"/>, or null.</summary>
    public string? this[string name]
    {
        get
        {
            RequestHead head = _request.Head;
            int i = head.IndexOf(name);
            return i < 0 ? null : HttpChars.Latin1(head.Value(i));
        }
    }

    /// <summary>The field at <paramref name="index"/> (name as sent).</summary>
    public KeyValuePair<string, string> this[int index]
    {
        get
        {
            RequestHead head = _request.Head;
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)head.FieldCount, nameof(index));
            return new(HttpChars.Latin1(head.Name(index)), HttpChars.Latin1(head.Value(index)));
        }
    }

    /// <summary>The values of every field named <paramref name="name"/>, in order.</summary>
    public IReadOnlyList<string> GetAll(string name)
    {
        RequestHead head = _request.Head;
        var values = new List<string>();
        for (int i = head.IndexOf(name); i >= 0; i = head.IndexOf(name, i + 1))
        {
            values.Add(HttpChars.Latin1(head.Value(i)));
        }
        return values;
    }

    /// <summary>True if a field named <paramref name="name"/> is present.</summary>
    public bool Contains(string name) => _request.Head.IndexOf(name) >= 0;

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, string>> GetEnumerator()
    {
        int n = Count;
        for (int i = 0; i < n; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc/>
    public override string ToString() => $"<RequestHeaders count:{Count}>";
}
