using System.Collections;
using System.Diagnostics;
using System.Text;

namespace Aio.Http;

/// <summary>
/// Ordered name/value pairs where a name may repeat (aiohttp's <c>MultiDict</c>): the query string, a form. The
/// indexer returns the first value of a name, <see cref="GetAll"/> all of them.
/// </summary>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class MultiDict : IReadOnlyList<KeyValuePair<string, string>>
{
    private readonly List<KeyValuePair<string, string>> _items;
    private readonly StringComparer _comparer;

    internal MultiDict(List<KeyValuePair<string, string>> items, StringComparer comparer)
    {
        _items = items;
        _comparer = comparer;
    }

    internal static readonly MultiDict Empty = new(new List<KeyValuePair<string, string>>(), StringComparer.Ordinal);

    /// <summary>The first value of <paramref name="name"/>, or null.</summary>
    public string? this[string name]
    {
        get
        {
            foreach (KeyValuePair<string, string> kv in _items)
            {
                if (_comparer.Equals(kv.Key, name))
                {
                    return kv.Value;
                }
            }
            return null;
        }
    }

    /// <summary>The pair at <paramref name="index"/>.</summary>
    public KeyValuePair<string, string> this[int index] => _items[index];

    /// <summary>How many pairs there are.</summary>
    public int Count => _items.Count;

    /// <summary>Every value of <paramref name="name"/>, in order.</summary>
    public IReadOnlyList<string> GetAll(string name)
    {
        var values = new List<string>();
        foreach (KeyValuePair<string, string> kv in _items)
        {
            if (_comparer.Equals(kv.Key, name))
            {
                values.Add(kv.Value);
            }
        }
        return values;
    }

    /// <summary>True if <paramref name="name"/> is present.</summary>
    public bool Contains(string name) => this[name] is not null;

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, string>> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc/>
    public override string ToString() => $"<MultiDict count:{_items.Count}>";

    /// <summary>Parses application/x-www-form-urlencoded text (also the query string): '+' is a space, %XX escapes decoded as UTF-8.</summary>
    internal static MultiDict ParseUrlEncoded(ReadOnlySpan<byte> s)
    {
        var items = new List<KeyValuePair<string, string>>();
        while (s.Length > 0)
        {
            int amp = s.IndexOf((byte)'&');
            ReadOnlySpan<byte> pair = amp < 0 ? s : s[..amp];
            s = amp < 0 ? default : s[(amp + 1)..];
            if (pair.Length == 0)
            {
                continue;
            }
            int eq = pair.IndexOf((byte)'=');
            string name = DecodeComponent(eq < 0 ? pair : pair[..eq]);
            string value = eq < 0 ? "" : DecodeComponent(pair[(eq + 1)..]);
            items.Add(new(name, value));
        }
        return new MultiDict(items, StringComparer.Ordinal);
    }

    private static string DecodeComponent(ReadOnlySpan<byte> s)
    {
        if (s.IndexOfAny((byte)'%', (byte)'+') < 0)
        {
            return Encoding.UTF8.GetString(s);
        }
        var bytes = new byte[s.Length];
        int n = 0;
        for (int i = 0; i < s.Length; i++)
        {
            byte c = s[i];
            if (c == '+')
            {
                bytes[n++] = (byte)' ';
            }
            else if (c == '%' && i + 2 < s.Length && Hex(s[i + 1]) >= 0 && Hex(s[i + 2]) >= 0)
            {
                bytes[n++] = (byte)((Hex(s[i + 1]) << 4) | Hex(s[i + 2]));
                i += 2;
            }
            else
            {
                bytes[n++] = c;
            }
        }
        return Encoding.UTF8.GetString(bytes, 0, n);
    }

    private static int Hex(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };
}
