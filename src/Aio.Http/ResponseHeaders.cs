using System.Collections;
using System.Diagnostics;

namespace Aio.Http;

/// <summary>
/// The header fields of a <see cref="Response"/>, in order; names compare case-insensitively. The indexer sets a
/// field (replacing the others of that name), <see cref="Add"/> appends one (for repeated fields such as
/// Set-Cookie). Content-Length, Transfer-Encoding, Date and Connection are written by the server.
/// </summary>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class ResponseHeaders : IEnumerable<KeyValuePair<string, string>>
{
    private readonly List<KeyValuePair<string, string>> _fields = new(4);

    internal ResponseHeaders()
    {
    }

    /// <summary>How many fields there are.</summary>
    public int Count => _fields.Count;

    /// <summary>The first value of the field named <paramref name="name"/>, or null; setting replaces every field of that name.</summary>
    /// <exception cref="ArgumentException">The name is not a token, or the value holds a CR, LF or other control character.</exception>
    public string? this[string name]
    {
        get
        {
            foreach (KeyValuePair<string, string> f in _fields)
            {
                if (string.Equals(f.Key, name, StringComparison.OrdinalIgnoreCase))
                {
                    return f.Value;
                }
            }
            return null;
        }
        set
        {
            Remove(name);
            if (value is not null)
            {
                Add(name, value);
            }
        }
    }

    /// <summary>Appends a field (keeping earlier fields of the same name).</summary>
    /// <exception cref="ArgumentException">The name is not a token, or the value holds a CR, LF or other control character (it would split the response).</exception>
    public void Add(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(value);
        Check(name, value);
        _fields.Add(new KeyValuePair<string, string>(name, value));
    }

    /// <summary>Removes every field named <paramref name="name"/>; returns how many there were.</summary>
    public int Remove(string name) => _fields.RemoveAll(f => string.Equals(f.Key, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>True if a field named <paramref name="name"/> is present.</summary>
    public bool Contains(string name) => this[name] is not null;

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, string>> GetEnumerator() => _fields.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal List<KeyValuePair<string, string>> Fields => _fields;

    /// <inheritdoc/>
    public override string ToString() => $"<ResponseHeaders count:{_fields.Count}>";

    private static void Check(string name, string value)
    {
        if (name.Length == 0)
        {
            throw new ArgumentException("A header name cannot be empty.", nameof(name));
        }
        foreach (char c in name)
        {
            if (c > 0x7F || !Internal.HttpChars.IsTchar((byte)c))
            {
                throw new ArgumentException($"The header name '{name}' holds '{c}', which is not a token character; use letters, digits and !#$%&'*+-.^_`|~.", nameof(name));
            }
        }
        foreach (char c in value)
        {
            if (c > 0xFF || !Internal.HttpChars.IsFieldValueByte((byte)c))
            {
                throw new ArgumentException($"The value of header '{name}' holds character U+{(int)c:X4}; CR, LF and other control or non-Latin-1 characters would corrupt (or split) the response. Encode the value first.", nameof(value));
            }
        }
    }
}
