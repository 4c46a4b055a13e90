// HttpParser: the strict HTTP/1.1 request-head parser and the chunked body decoder.
//
// Design note. The connection (HttpConnection) first SCANS the received bytes for the end of the head, line by
// line, resuming where it stopped (a head dribbled one byte at a time costs O(n), not O(n²)), and checks the
// size limits as the bytes arrive: the request line against MaxRequestLineSize (414) and the header section
// against MaxRequestHeadersTotalSize and MaxRequestHeaderCount (431). Only a complete head is PARSED, once, by
// ParseHead below, straight from the receive buffer: header names and values stay (offset, length) pairs into
// that buffer until a handler asks for strings. Because the scan only looks for line ends and the parse only
// runs on a complete head, the verdict never depends on how the bytes were split across reads.
//
// Strictness (RFC 9112): CRLF everywhere (a bare CR or LF is a 400), no obs-fold, no whitespace between a field
// name and its colon, no control characters in the target, names or values, exactly one valid Host on HTTP/1.1,
// Content-Length plain decimal without sign and without overflow, never together with Transfer-Encoding, whose
// final coding must be chunked and which may name chunked once. Unknown versions get 505. Each error closes the
// connection: after a framing error nothing that follows can be trusted to be a request.
//
// The chunked decoder is a resumable state machine over whatever bytes are buffered: hex sizes parsed by hand
// (no "0x", no sign, overflow checked), extensions bounded, CRLF after each chunk, trailers bounded like headers
// and validated like field lines.
using System.Runtime.CompilerServices;
using System.Text;

namespace Aio.Http.Internal;

/// <summary>A header field as offsets into the receive buffer (valid while its request is current).</summary>
internal struct HeaderField
{
    public int NameStart;
    public int NameLength;
    public int ValueStart;
    public int ValueLength;
}

/// <summary>The parsed head of one request, reused by its connection for every request.</summary>
internal sealed class RequestHead
{
    public byte[] Buffer = [];          // the receive buffer the offsets point into
    public int HeadLength;              // bytes of the head, including the final empty line
    public string Method = "";          // a cached string for the common methods
    public int TargetStart, TargetLength;
    public int PathStart, PathLength;   // the path of the target (origin-form; for absolute-form the part after the authority)
    public int QueryStart = -1, QueryLength;   // after '?', -1 if none
    public int AuthorityStart = -1, AuthorityLength;   // the Host value, or the absolute-form target's authority (which wins)
    public bool IsAsterisk;             // OPTIONS *
    public int Version;                 // 10 or 11
    public HeaderField[] Fields = new HeaderField[16];
    public int FieldCount;
    public long ContentLength = -1;     // -1: none declared
    public bool Chunked;
    public bool KeepAlive;
    public bool ExpectContinue;
    public bool ConnectionUpgrade;

    public void Reset()
    {
        HeadLength = 0;
        FieldCount = 0;
        ContentLength = -1;
        Chunked = false;
        KeepAlive = false;
        ExpectContinue = false;
        ConnectionUpgrade = false;
        QueryStart = -1;
        QueryLength = 0;
        AuthorityStart = -1;
        AuthorityLength = 0;
        IsAsterisk = false;
    }

    public ReadOnlySpan<byte> Span(int start, int length) => Buffer.AsSpan(start, length);

    public ReadOnlySpan<byte> Name(int i) => Buffer.AsSpan(Fields[i].NameStart, Fields[i].NameLength);

    public ReadOnlySpan<byte> Value(int i) => Buffer.AsSpan(Fields[i].ValueStart, Fields[i].ValueLength);

    /// <summary>The index of the first field named <paramref name="name"/> (ASCII, case-insensitive), or -1.</summary>
    public int IndexOf(string name, int from = 0)
    {
        for (int i = from; i < FieldCount; i++)
        {
            if (HttpChars.EqualsIgnoreCase(Name(i), name))
            {
                return i;
            }
        }
        return -1;
    }
}

/// <summary>A parse failure: the status to answer and the reason for the log.</summary>
internal readonly record struct HttpError(int Status, string Reason)
{
    public bool IsError => Status != 0;
}

/// <summary>Byte classes of RFC 9110/9112.</summary>
internal static class HttpChars
{
    private static readonly bool[] s_tchar = BuildTchar();

    private static bool[] BuildTchar()
    {
        var t = new bool[256];
        for (int c = '0'; c <= '9'; c++)
        {
            t[c] = true;
        }
        for (int c = 'a'; c <= 'z'; c++)
        {
            t[c] = true;
            t[c - 32] = true;
        }
        foreach (char c in "!#$%&'*+-.^_`|~")
        {
            t[c] = true;
        }
        return t;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsTchar(byte b) => s_tchar[b];

    /// <summary>field-vchar, SP, HTAB or obs-text: what a field value may contain.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsFieldValueByte(byte b) => b >= 0x20 ? b != 0x7F : b == (byte)'\t';

    public static bool EqualsIgnoreCase(ReadOnlySpan<byte> bytes, string ascii)
    {
        if (bytes.Length != ascii.Length)
        {
            return false;
        }
        for (int i = 0; i < bytes.Length; i++)
        {
            int a = bytes[i];
            int b = ascii[i];
            if (a != b && ((a | 0x20) != (b | 0x20) || (a | 0x20) < 'a' || (a | 0x20) > 'z'))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Trims SP and HTAB on both sides.</summary>
    public static ReadOnlySpan<byte> TrimOws(ReadOnlySpan<byte> s)
    {
        int a = 0;
        int b = s.Length;
        while (a < b && (s[a] == ' ' || s[a] == '\t'))
        {
            a++;
        }
        while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
        {
            b--;
        }
        return s[a..b];
    }

    /// <summary>A Host value or an absolute-form authority: uri-host [":" port], no userinfo.</summary>
    public static bool IsValidAuthority(ReadOnlySpan<byte> s, bool allowEmpty)
    {
        if (s.Length == 0)
        {
            return allowEmpty;
        }
        foreach (byte b in s)
        {
            bool ok = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
                      b is (byte)'-' or (byte)'.' or (byte)'_' or (byte)'~' or (byte)'!' or (byte)'$' or (byte)'&' or
                          (byte)'\'' or (byte)'(' or (byte)')' or (byte)'*' or (byte)'+' or (byte)',' or (byte)';' or
                          (byte)'=' or (byte)':' or (byte)'[' or (byte)']' or (byte)'%';
            if (!ok)
            {
                return false;
            }
        }
        return true;
    }

    public static string Latin1(ReadOnlySpan<byte> bytes) => bytes.Length == 0 ? "" : Encoding.Latin1.GetString(bytes);
}

internal static class HttpParser
{
    private static HttpError Ok => default;

    private static readonly string[] s_methods = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE"];

    private static string MethodString(ReadOnlySpan<byte> m)
    {
        foreach (string s in s_methods)
        {
            if (m.Length == s.Length && Ascii.Equals(m, s))
            {
                return s;
            }
        }
        return Encoding.ASCII.GetString(m);
    }

    /// <summary>
    /// Parses the complete head <c>buffer[0..length)</c> (request line, field lines, empty line) into
    /// <paramref name="head"/>. Returns the error to answer, or a default (non-error) value.
    /// </summary>
    public static HttpError ParseHead(byte[] buffer, int length, RequestHead head)
    {
        head.Reset();
        head.Buffer = buffer;
        head.HeadLength = length;
        ReadOnlySpan<byte> b = buffer.AsSpan(0, length);

        // ---- request line: method SP request-target SP HTTP-version CRLF
        int i = 0;
        while (i < b.Length && HttpChars.IsTchar(b[i]))
        {
            i++;
        }
        if (i == 0 || i >= b.Length || b[i] != ' ')
        {
            return new HttpError(400, "malformed method in the request line");
        }
        head.Method = MethodString(b[..i]);
        int t = ++i;
        while (i < b.Length && b[i] != ' ')
        {
            byte c = b[i];
            if (c <= 0x20 || c >= 0x7F)
            {
                return new HttpError(400, "control, space or non-ASCII character in the request target");
            }
            i++;
        }
        if (i == t || i >= b.Length)
        {
            return new HttpError(400, "missing request target");
        }
        head.TargetStart = t;
        head.TargetLength = i - t;
        i++;
        if (b.Length - i < 10 || !b.Slice(i, 5).SequenceEqual("HTTP/"u8) || !IsDigit(b[i + 5]) || b[i + 6] != '.' || !IsDigit(b[i + 7]))
        {
            return new HttpError(400, "malformed HTTP version in the request line");
        }
        if (b[i + 8] != '\r' || b[i + 9] != '\n')
        {
            return new HttpError(400, "the request line does not end with CRLF after the version");
        }
        int major = b[i + 5] - '0';
        int minor = b[i + 7] - '0';
        if (major != 1 || minor > 1)
        {
            return new HttpError(505, "unsupported HTTP version");
        }
        head.Version = minor == 1 ? 11 : 10;
        head.KeepAlive = head.Version == 11;
        i += 10;

        HttpError e = ParseTarget(head);
        if (e.IsError)
        {
            return e;
        }

        // ---- field lines
        int hostCount = 0;
        int hostStart = 0, hostLength = 0;
        bool sawTransferEncoding = false;
        bool chunkedSeen = false, lastIsChunked = false, otherCoding = false, chunkedTwice = false;
        while (true)
        {
            if (i + 1 < b.Length && b[i] == '\r' && b[i + 1] == '\n')
            {
                i += 2;
                break;
            }
            e = ParseFieldLine(b, ref i, out int ns, out int nl, out int vs, out int vl);
            if (e.IsError)
            {
                return e;
            }
            if (head.FieldCount == head.Fields.Length)
            {
                Array.Resize(ref head.Fields, head.Fields.Length * 2);
            }
            head.Fields[head.FieldCount++] = new HeaderField { NameStart = ns, NameLength = nl, ValueStart = vs, ValueLength = vl };
            ReadOnlySpan<byte> name = b.Slice(ns, nl);
            ReadOnlySpan<byte> value = b.Slice(vs, vl);
            switch (nl)
            {
                case 4 when HttpChars.EqualsIgnoreCase(name, "host"):
                    hostCount++;
                    hostStart = vs;
                    hostLength = vl;
                    break;
                case 14 when HttpChars.EqualsIgnoreCase(name, "content-length"):
                    if (head.ContentLength >= 0)
                    {
                        return new HttpError(400, "duplicate Content-Length");
                    }
                    if (!TryParseContentLength(value, out long cl))
                    {
                        return new HttpError(400, "Content-Length is not a plain decimal number");
                    }
                    head.ContentLength = cl;
                    break;
                case 17 when HttpChars.EqualsIgnoreCase(name, "transfer-encoding"):
                    sawTransferEncoding = true;
                    foreach (Range r in new TokenList(value))
                    {
                        ReadOnlySpan<byte> coding = value[r];
                        if (HttpChars.EqualsIgnoreCase(coding, "chunked"))
                        {
                            chunkedTwice |= chunkedSeen;
                            chunkedSeen = true;
                            lastIsChunked = true;
                        }
                        else
                        {
                            otherCoding = true;
                            lastIsChunked = false;
                        }
                    }
                    break;
                case 10 when HttpChars.EqualsIgnoreCase(name, "connection"):
                    foreach (Range r in new TokenList(value))
                    {
                        ReadOnlySpan<byte> token = value[r];
                        if (HttpChars.EqualsIgnoreCase(token, "close"))
                        {
                            head.KeepAlive = false;
                        }
                        else if (HttpChars.EqualsIgnoreCase(token, "keep-alive") && head.Version == 10)
                        {
                            head.KeepAlive = true;
                        }
                        else if (HttpChars.EqualsIgnoreCase(token, "upgrade"))
                        {
                            head.ConnectionUpgrade = true;
                        }
                    }
                    break;
                case 6 when HttpChars.EqualsIgnoreCase(name, "expect"):
                    if (!HttpChars.EqualsIgnoreCase(value, "100-continue"))
                    {
                        return new HttpError(417, "unsupported expectation");
                    }
                    head.ExpectContinue = head.Version == 11;
                    break;
            }
        }
        if (i != b.Length)
        {
            return new HttpError(400, "bytes after the end of the head");   // the scanner hands over whole heads only
        }

        if (head.Version == 11 && hostCount == 0)
        {
            return new HttpError(400, "missing Host header on HTTP/1.1");
        }
        if (hostCount > 1)
        {
            return new HttpError(400, "duplicate Host header");
        }
        if (hostCount == 1 && !HttpChars.IsValidAuthority(b.Slice(hostStart, hostLength), allowEmpty: true))
        {
            return new HttpError(400, "invalid Host header");
        }
        if (head.AuthorityStart < 0 && hostCount == 1)
        {
            head.AuthorityStart = hostStart;   // the absolute-form target's authority wins over Host
            head.AuthorityLength = hostLength;
        }
        if (sawTransferEncoding)
        {
            if (head.ContentLength >= 0)
            {
                return new HttpError(400, "both Content-Length and Transfer-Encoding");
            }
            if (head.Version == 10)
            {
                return new HttpError(400, "Transfer-Encoding on an HTTP/1.0 request");
            }
            if (chunkedTwice)
            {
                return new HttpError(400, "Transfer-Encoding names chunked more than once");
            }
            if (!lastIsChunked)
            {
                return new HttpError(400, "the final Transfer-Encoding is not chunked");
            }
            if (otherCoding)
            {
                return new HttpError(501, "unsupported transfer coding");
            }
            head.Chunked = true;
        }
        return Ok;
    }

    private static HttpError ParseTarget(RequestHead head)
    {
        ReadOnlySpan<byte> target = head.Span(head.TargetStart, head.TargetLength);
        int pathStart;
        if (target[0] == '/')
        {
            pathStart = head.TargetStart;
        }
        else if (target.Length == 1 && target[0] == '*')
        {
            if (head.Method != "OPTIONS")
            {
                return new HttpError(400, "the asterisk target is only for OPTIONS");
            }
            head.IsAsterisk = true;
            head.PathStart = head.TargetStart;
            head.PathLength = 1;
            return Ok;
        }
        else
        {
            int schemeLength = StartsWithIgnoreCase(target, "http://") ? 7 : StartsWithIgnoreCase(target, "https://") ? 8 : 0;
            if (schemeLength == 0)
            {
                return new HttpError(400, "the request target is neither origin-form, absolute-form nor *");
            }
            int a = schemeLength;
            while (a < target.Length && target[a] != '/' && target[a] != '?' && target[a] != '#')
            {
                a++;
            }
            ReadOnlySpan<byte> authority = target[schemeLength..a];
            if (authority.Length == 0 || authority.Contains((byte)'@') || !HttpChars.IsValidAuthority(authority, allowEmpty: false))
            {
                return new HttpError(400, "invalid authority in the absolute-form target");
            }
            head.AuthorityStart = head.TargetStart + schemeLength;
            head.AuthorityLength = authority.Length;
            pathStart = head.TargetStart + a;
        }
        int end = head.TargetStart + head.TargetLength;
        int q = pathStart;
        while (q < end && head.Buffer[q] != '?' && head.Buffer[q] != '#')
        {
            q++;
        }
        head.PathStart = pathStart;
        head.PathLength = q - pathStart;
        if (q < end && head.Buffer[q] == '?')
        {
            int qe = q + 1;
            while (qe < end && head.Buffer[qe] != '#')
            {
                qe++;
            }
            head.QueryStart = q + 1;
            head.QueryLength = qe - q - 1;
        }
        return Ok;
    }

    /// <summary>Parses one field line at <paramref name="i"/> (which must not be the empty line) and moves past its CRLF.</summary>
    internal static HttpError ParseFieldLine(ReadOnlySpan<byte> b, ref int i, out int nameStart, out int nameLength, out int valueStart, out int valueLength)
    {
        nameStart = i;
        nameLength = valueStart = valueLength = 0;
        if (i < b.Length && (b[i] == ' ' || b[i] == '\t'))
        {
            return new HttpError(400, "obsolete line folding or whitespace before a field name");
        }
        while (i < b.Length && HttpChars.IsTchar(b[i]))
        {
            i++;
        }
        nameLength = i - nameStart;
        if (i >= b.Length || b[i] != ':')
        {
            return new HttpError(400, nameLength == 0 ? "empty or invalid field name" : "invalid character (or whitespace) between a field name and its colon");
        }
        if (nameLength == 0)
        {
            return new HttpError(400, "empty field name");
        }
        i++;
        while (i < b.Length && (b[i] == ' ' || b[i] == '\t'))
        {
            i++;
        }
        valueStart = i;
        while (i < b.Length && b[i] != '\r')
        {
            if (!HttpChars.IsFieldValueByte(b[i]))
            {
                return new HttpError(400, "control character (or bare LF) in a field value");
            }
            i++;
        }
        if (i + 1 >= b.Length || b[i + 1] != '\n')
        {
            return new HttpError(400, "bare CR in a field line");
        }
        int ve = i;
        while (ve > valueStart && (b[ve - 1] == ' ' || b[ve - 1] == '\t'))
        {
            ve--;
        }
        valueLength = ve - valueStart;
        i += 2;
        return Ok;
    }

    private static bool IsDigit(byte b) => b >= '0' && b <= '9';

    private static bool StartsWithIgnoreCase(ReadOnlySpan<byte> s, string prefix) =>
        s.Length >= prefix.Length && HttpChars.EqualsIgnoreCase(s[..prefix.Length], prefix);

    /// <summary>1*DIGIT, no sign, no whitespace inside, no overflow.</summary>
    internal static bool TryParseContentLength(ReadOnlySpan<byte> s, out long value)
    {
        value = 0;
        if (s.Length == 0 || s.Length > 19)
        {
            return false;
        }
        foreach (byte c in s)
        {
            if (!IsDigit(c))
            {
                return false;
            }
            long next = value * 10 + (c - '0');
            if (next < value)
            {
                return false;
            }
            value = next;
        }
        return value >= 0;
    }

    /// <summary>Comma-separated list elements with OWS trimmed, empty elements skipped; each element up to a ';' (parameters ignored).</summary>
    private ref struct TokenList
    {
        private readonly ReadOnlySpan<byte> _s;
        private int _pos;

        public TokenList(ReadOnlySpan<byte> s)
        {
            _s = s;
            _pos = 0;
            Current = default;
        }

        public Range Current { get; private set; }

        public readonly TokenList GetEnumerator() => this;

        public bool MoveNext()
        {
            while (_pos <= _s.Length)
            {
                int comma = _s[_pos..].IndexOf((byte)',');
                int end = comma < 0 ? _s.Length : _pos + comma;
                int a = _pos;
                int z = end;
                int semi = _s[a..z].IndexOf((byte)';');
                if (semi >= 0)
                {
                    z = a + semi;
                }
                while (a < z && (_s[a] == ' ' || _s[a] == '\t'))
                {
                    a++;
                }
                while (z > a && (_s[z - 1] == ' ' || _s[z - 1] == '\t'))
                {
                    z--;
                }
                _pos = end + 1;
                if (z > a)
                {
                    Current = a..z;
                    return true;
                }
            }
            return false;
        }
    }
}

/// <summary>
/// The chunked-body decoder: a resumable state machine. <see cref="Decode"/> consumes framing and data from the
/// input and copies data to the output (or discards it), stopping when either runs out.
/// </summary>
internal struct ChunkedDecoder
{
    private enum State : byte
    {
        Size,
        SizeDigitsDone,   // after the hex digits: extension or CR
        Extension,
        SizeLf,
        Data,
        DataCr,
        DataLf,
        TrailerLineStart,
        TrailerLine,
        TrailerLf,
        FinalLf,
        Done,
    }

    private State _state;
    private long _chunkRemaining;
    private int _digits;
    private int _extensionBytes;
    private int _trailerBytes;
    private int _trailerCount;
    private bool _trailerInValue;

    public readonly bool IsDone => _state == State.Done;

    /// <summary>
    /// Decodes from <paramref name="input"/>: returns the error (if any), how many input bytes were consumed and how
    /// many body bytes were produced (copied to <paramref name="output"/> unless <paramref name="discard"/>; up to
    /// <paramref name="maxOutput"/>).
    /// </summary>
    public HttpError Decode(ReadOnlySpan<byte> input, Span<byte> output, bool discard, long maxOutput, HttpLimits limits, out int consumed, out int produced)
    {
        int i = 0;
        int o = 0;
        consumed = 0;
        produced = 0;
        while (i < input.Length && _state != State.Done)
        {
            byte c = input[i];
            switch (_state)
            {
                case State.Size:
                {
                    int h = HexValue(c);
                    if (h < 0)
                    {
                        if (_digits == 0)
                        {
                            return Fail(out consumed, "chunk size is not hexadecimal");
                        }
                        _state = State.SizeDigitsDone;
                        continue;
                    }
                    if (_chunkRemaining > (long.MaxValue >> 4))
                    {
                        return Fail(out consumed, "chunk size overflows");
                    }
                    _chunkRemaining = (_chunkRemaining << 4) | (uint)h;
                    _digits++;
                    i++;
                    break;
                }
                case State.SizeDigitsDone:
                    if (c == '\r')
                    {
                        _state = State.SizeLf;
                    }
                    else if (c == ';' || c == ' ' || c == '\t')
                    {
                        _state = State.Extension;
                        _extensionBytes = 1;
                    }
                    else
                    {
                        return Fail(out consumed, "invalid character after the chunk size");
                    }
                    i++;
                    break;
                case State.Extension:
                    if (c == '\r')
                    {
                        _state = State.SizeLf;
                    }
                    else if (!HttpChars.IsFieldValueByte(c))
                    {
                        return Fail(out consumed, "control character in a chunk extension");
                    }
                    else if (++_extensionBytes > limits.MaxChunkExtensionSize)
                    {
                        return Fail(out consumed, "chunk extension too long");
                    }
                    i++;
                    break;
                case State.SizeLf:
                    if (c != '\n')
                    {
                        return Fail(out consumed, "bare CR after the chunk size");
                    }
                    i++;
                    _digits = 0;
                    _state = _chunkRemaining == 0 ? State.TrailerLineStart : State.Data;
                    break;
                case State.Data:
                {
                    long room = discard ? long.MaxValue : Math.Min(output.Length - o, maxOutput - o);
                    if (room <= 0)
                    {
                        consumed = i;
                        produced = o;
                        return default;
                    }
                    int n = (int)Math.Min(Math.Min(_chunkRemaining, input.Length - i), room);
                    if (!discard)
                    {
                        input.Slice(i, n).CopyTo(output[o..]);
                    }
                    o += n;
                    i += n;
                    _chunkRemaining -= n;
                    if (_chunkRemaining == 0)
                    {
                        _state = State.DataCr;
                    }
                    if (discard && o > 1 << 30)
                    {
                        o = 1 << 30;   // a discarding caller only needs "something was produced"
                    }
                    break;
                }
                case State.DataCr:
                    if (c != '\r')
                    {
                        return Fail(out consumed, "chunk data not followed by CRLF");
                    }
                    _state = State.DataLf;
                    i++;
                    break;
                case State.DataLf:
                    if (c != '\n')
                    {
                        return Fail(out consumed, "bare CR after chunk data");
                    }
                    _state = State.Size;
                    i++;
                    break;
                case State.TrailerLineStart:
                    if (c == '\r')
                    {
                        _state = State.FinalLf;
                        i++;
                        break;
                    }
                    if (c == ' ' || c == '\t')
                    {
                        return Fail(out consumed, "obsolete line folding in a trailer");
                    }
                    if (++_trailerCount > limits.MaxRequestHeaderCount)
                    {
                        return Fail(out consumed, "too many trailer fields", 431);
                    }
                    _trailerInValue = false;
                    _state = State.TrailerLine;
                    continue;
                case State.TrailerLine:
                    if (++_trailerBytes > limits.MaxRequestHeadersTotalSize)
                    {
                        return Fail(out consumed, "trailer section too large", 431);
                    }
                    if (c == '\r')
                    {
                        if (!_trailerInValue)
                        {
                            return Fail(out consumed, "trailer field without a colon");
                        }
                        _state = State.TrailerLf;
                    }
                    else if (!_trailerInValue)
                    {
                        if (c == ':')
                        {
                            _trailerInValue = true;
                        }
                        else if (!HttpChars.IsTchar(c))
                        {
                            return Fail(out consumed, "invalid character in a trailer field name");
                        }
                    }
                    else if (!HttpChars.IsFieldValueByte(c))
                    {
                        return Fail(out consumed, "control character in a trailer field value");
                    }
                    i++;
                    break;
                case State.TrailerLf:
                    if (c != '\n')
                    {
                        return Fail(out consumed, "bare CR in a trailer");
                    }
                    _state = State.TrailerLineStart;
                    i++;
                    break;
                case State.FinalLf:
                    if (c != '\n')
                    {
                        return Fail(out consumed, "bare CR at the end of the chunked body");
                    }
                    _state = State.Done;
                    i++;
                    break;
            }
        }
        consumed = i;
        produced = o;
        return default;
    }

    private static HttpError Fail(out int consumed, string reason, int status = 400)
    {
        consumed = 0;
        return new HttpError(status, reason);
    }

    private static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };
}
