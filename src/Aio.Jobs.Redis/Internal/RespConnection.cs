// RespConnection: a small RESP2 client on the loop's own transport. A JobWorker uses one for its fetch (the Take
// script, and the BLPOP on its inbox and the queue's bell); a JobQueue uses one as its command connection
// (QueueCommands: the enqueue script, and its workers' acknowledgements, renewals and take-overs).
//
// Design note. StackExchange.Redis multiplexes every caller over one connection, so it cannot run blocking commands,
// and its replies arrive on its own threads (one post back to the loop per reply, plus thread-pool hops for its socket
// I/O). This connection is the loop's: commands are written by the loop thread straight into the socket (one write for
// a pipelined batch), replies are parsed in DataReceived on the loop thread and complete their futures there — no
// thread is involved between Redis and the worker. It speaks only what the fetch needs: arrays of bulk strings out;
// simple strings, errors, integers, bulk strings, arrays and nils in. Replies complete in the order commands were sent.
// A worker awaits a detached copy of a reply's future (Reply.Detached): cancelling the worker cancels the copy, the
// reply still arrives, so a worker interrupted mid-fetch can still collect the jobs its Take started. A cancelled
// future is never removed from the queue of pending replies: its reply is still read in order and dropped, so the
// replies after it go to their own commands. When the connection is lost, every pending future fails with a
// RedisConnectionException; the owner then connects a new one.
//
// Commands ended with End(timed: true) are the command connection's: each is outside work of kind Reporting until
// its reply is read (a virtual clock does not jump past it, as for a StackExchange.Redis call, see RedisAwait), and the
// oldest one pending must be answered within the multiplexer's AsyncTimeout, or the connection is aborted (pending
// replies fail with a RedisTimeoutException; the next call connects again). The fetch's commands are not timed:
// its BLPOP blocks by design (the worker keeps its own deadline) and must not hold a virtual clock.
using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Text;
using Aio.LowLevel;
using Aio.Net;
using StackExchange.Redis;

namespace Aio.Jobs.Redis.Internal;

/// <summary>A Redis error reply (<c>-ERR ...</c>).</summary>
internal sealed class RespError(string message)
{
    public string Message { get; } = message;

    /// <summary>EVALSHA of a script Redis does not hold (it restarted, or its scripts were flushed).</summary>
    public bool IsNoScript => Message.StartsWith("NOSCRIPT", StringComparison.Ordinal);
}

/// <summary>A Lua script and its SHA-1 (for EVALSHA), computed here: no SCRIPT LOAD round trip.</summary>
internal sealed class ScriptText(string body)
{
    public string Body { get; } = body;

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5350", Justification = "EVALSHA names a script by its SHA-1; nothing is secured by it.")]
    public string Sha { get; } = Convert.ToHexStringLower(System.Security.Cryptography.SHA1.HashData(Encoding.UTF8.GetBytes(body)));
}

/// <summary>A loop-native RESP2 connection (see the design note at the top of the file).</summary>
internal sealed class RespConnection : IProtocol
{
    /// <summary>The future of one reply.</summary>
    internal sealed class Reply : AioFuture<object?>
    {
        private AioFuture<object?>? _copy;

        /// <summary>
        /// A future completed like this one, for an awaiter that may be cancelled: cancelling the awaiter cancels the
        /// copy, and the reply still arrives here (it can be awaited again). The connection completes the newest copy
        /// in the same step as the reply, so its awaiter resumes in the loop iteration that read the reply (a done
        /// callback would take one more). A reply awaited through copies is not awaited, nor cancelled, itself.
        /// </summary>
        public AioFuture<object?> Detached()
        {
            var copy = new AioFuture<object?>();
            if (!Done)
            {
                _copy = copy;
            }
            else if (Exception() is { } e)
            {
                copy.TrySetException(e);
            }
            else
            {
                copy.TrySetResult(Result());
            }
            return copy;
        }

        /// <summary>Completes the reply and its newest copy with <paramref name="value"/>.</summary>
        public void Resolve(object? value)
        {
            TrySetResult(value);   // false if its awaiter was cancelled: the reply is dropped
            _copy?.TrySetResult(value);
        }

        /// <summary>Fails the reply and its newest copy.</summary>
        public void Fail(Exception error)
        {
            TrySetException(error);
            if (_copy is { } copy)
            {
                _ = Exception();   // retrieved: the copy's awaiter gets it
                copy.TrySetException(error);
            }
        }
    }

    /// <summary>A command sent whose reply has not been read: its future (null: nobody reads it) and, if timed, its deadline on the loop's clock.</summary>
    private readonly record struct Pending(Reply? Reply, double Deadline)
    {
        public bool Timed => !double.IsPositiveInfinity(Deadline);
    }

    private static readonly byte[] Crlf = "\r\n"u8.ToArray();
    private readonly Queue<Pending> _pending = new();
    private readonly ArrayBufferWriter<byte> _out = new(1024);
    private readonly string _endpoint;
    private readonly EventLoop _loop;
    private readonly double _timeout;   // seconds a timed command may wait for its reply
    private byte[] _in = new byte[8 * 1024];
    private int _start, _end;
    private ITransport? _transport;
    private Exception? _lost;
    private TimerHandle? _watchdog;
    private readonly HashSet<ScriptText> _scriptsSent = [];

    private RespConnection(string endpoint, EventLoop loop, double timeout)
    {
        _endpoint = endpoint;
        _loop = loop;
        _timeout = timeout;
    }

    /// <summary>The loop whose thread reads and writes this connection.</summary>
    public EventLoop Loop => _loop;

    /// <summary>Commands sent whose replies have not been read.</summary>
    public int PendingCount => _pending.Count;

    /// <summary>True until the connection is lost, closed or aborted.</summary>
    public bool IsOpen => _lost is null && _transport is { IsClosing: false };

    /// <summary>
    /// Connects to the primary that <paramref name="redis"/> uses (its configured endpoint, password, user, database and
    /// TLS) and names the connection <paramref name="clientName"/> (CLIENT LIST shows it).
    /// </summary>
    public static async Task<RespConnection> ConnectAsync(IConnectionMultiplexer redis, string clientName)
    {
        ConfigurationOptions config = ConfigurationOptions.Parse(redis.Configuration);
        EndPoint endpoint = redis.GetServers().FirstOrDefault(s => s.IsConnected && !s.IsReplica)?.EndPoint
            ?? (config.EndPoints.Count > 0 ? config.EndPoints[0] : throw new InvalidOperationException($"The Redis configuration '{redis.Configuration}' names no endpoint; a queue or worker cannot open its loop-native connection (give the multiplexer an endpoint)."));
        (string host, int port) = endpoint switch
        {
            DnsEndPoint d => (d.Host, d.Port == 0 ? 6379 : d.Port),
            IPEndPoint ip => (ip.Address.ToString(), ip.Port == 0 ? 6379 : ip.Port),
            _ => throw new NotSupportedException($"A queue's or worker's loop-native Redis connection supports TCP endpoints only (host:port), not {endpoint} ({endpoint.GetType().Name})."),
        };
        EventLoop loop = EventLoop.GetRunningLoop();
        var options = new ConnectionOptions
        {
            Ssl = config.Ssl ? new SslClientAuthenticationOptions { TargetHost = config.SslHost ?? host } : null,
        };
        string name = $"{host}:{port.ToString(CultureInfo.InvariantCulture)}";
        double timeout = Math.Max(config.AsyncTimeout, 1) / 1000.0;
        (_, RespConnection connection) = await loop.CreateConnectionAsync(() => new RespConnection(name, loop, timeout), host, port, options);
        try
        {
            var handshake = new List<Reply>();
            if (config.Password is { Length: > 0 } password)
            {
                handshake.Add(config.User is { Length: > 0 } user ? connection.Command(true, "AUTH", user, password) : connection.Command(true, "AUTH", password));
            }
            if (config.DefaultDatabase is int db and not 0)
            {
                handshake.Add(connection.Command(true, "SELECT", db.ToString(CultureInfo.InvariantCulture)));
            }
            connection.Begin(3).Arg("CLIENT").Arg("SETNAME").Arg(clientName.Replace(' ', '_')).EndIgnored();   // a name is a courtesy: an ACL may refuse it
            connection.Flush();
            foreach (Reply reply in handshake)
            {
                Check(await reply);
            }
            return connection;
        }
        catch
        {
            connection.Abort(null);
            throw;
        }
    }

    /// <summary>Writes a command of string arguments into the output buffer (sent by <see cref="Flush"/>); <paramref name="timed"/>: see <see cref="End"/>.</summary>
    public Reply Command(bool timed, params ReadOnlySpan<string> args)
    {
        Begin(args.Length);
        foreach (string a in args)
        {
            Arg(a);
        }
        return End(timed);
    }

    /// <summary>
    /// Runs <paramref name="script"/> with <paramref name="args"/> (strings and integers; no keys: the queue's scripts
    /// build their keys from ARGV[1]) as a timed command: EVALSHA, and if Redis does not know the script (NOSCRIPT: it
    /// restarted, or SCRIPT FLUSH), EVAL, which also loads it; the first use of a script on a connection is an EVAL
    /// (a new connection is often a restarted Redis's). Flushes. Returns the reply; a Redis error is thrown
    /// as a <see cref="RedisServerException"/>. If the awaiter is cancelled, the reply is still read in order.
    /// </summary>
    public async Task<object?> EvalAsync(ScriptText script, object[] args)
    {
        if (_scriptsSent.Add(script))
        {
            return Check(await Eval(script.Body, "EVAL", args));   // the first use on this connection loads it
        }
        object? reply = await Eval(script.Sha, "EVALSHA", args);
        if (reply is RespError { IsNoScript: true })
        {
            reply = await Eval(script.Body, "EVAL", args);
        }
        return Check(reply);
    }

    private Reply Eval(string scriptOrSha, string verb, object[] args)
    {
        Begin(3 + args.Length).Arg(verb).Arg(scriptOrSha).Arg(0);
        foreach (object a in args)
        {
            switch (a)
            {
                case string text:
                    Arg(text);
                    break;
                case long l:
                    Arg(l);
                    break;
                case int i:
                    Arg(i);
                    break;
                default:
                    throw new ArgumentException($"A script argument must be a string, an int or a long, not {a.GetType().Name}.", nameof(args));
            }
        }
        Reply reply = End(timed: true);
        Flush();
        return reply;
    }

    /// <summary>Starts a command of <paramref name="count"/> arguments; add them with <see cref="Arg(string)"/>, then <see cref="End"/> or <see cref="EndIgnored"/>.</summary>
    public RespConnection Begin(int count)
    {
        Header((byte)'*', count);
        return this;
    }

    /// <summary>Adds a string argument (UTF-8).</summary>
    public RespConnection Arg(string value)
    {
        int n = Encoding.UTF8.GetByteCount(value);
        Header((byte)'$', n);
        Span<byte> span = _out.GetSpan(n + 2);
        Encoding.UTF8.GetBytes(value, span);
        Crlf.CopyTo(span[n..]);
        _out.Advance(n + 2);
        return this;
    }

    /// <summary>Adds an integer argument.</summary>
    public RespConnection Arg(long value)
    {
        Span<byte> digits = stackalloc byte[20];
        Utf8Formatter.TryFormat(value, digits, out int n);
        Header((byte)'$', n);
        Span<byte> span = _out.GetSpan(n + 2);
        digits[..n].CopyTo(span);
        Crlf.CopyTo(span[n..]);
        _out.Advance(n + 2);
        return this;
    }

    /// <summary>
    /// Ends a command; its reply completes the returned future. A <paramref name="timed"/> command is outside work of
    /// kind Reporting until its reply is read, and must be answered within the timeout (see the design note).
    /// </summary>
    public Reply End(bool timed = false)
    {
        var reply = new Reply();
        if (_lost is not null)
        {
            reply.TrySetException(_lost);
            return reply;
        }
        if (timed)
        {
            _loop.BeginOutsideWork(OutsideWorkKind.Reporting);
            _pending.Enqueue(new Pending(reply, _loop.Time() + _timeout));
            _watchdog ??= _loop.CallLater(_timeout, s_watch, this);
        }
        else
        {
            _pending.Enqueue(new Pending(reply, double.PositiveInfinity));
        }
        return reply;
    }

    /// <summary>Ends a command whose reply nobody reads.</summary>
    public void EndIgnored()
    {
        if (_lost is null)
        {
            _pending.Enqueue(new Pending(null, double.PositiveInfinity));
        }
    }

    private static readonly Action<RespConnection> s_watch = static c => c.Watch();

    /// <summary>The watchdog of timed commands: aborts the connection if the oldest pending one is overdue, else waits for it.</summary>
    private void Watch()
    {
        _watchdog = null;
        if (_lost is not null || !_pending.TryPeek(out Pending oldest))
        {
            return;
        }
        if (!oldest.Timed)
        {
            // An untimed command first (a handshake's CLIENT SETNAME): look again later if a timed one waits behind it.
            if (_pending.Any(p => p.Timed))
            {
                _watchdog = _loop.CallLater(_timeout, s_watch, this);
            }
            return;
        }
        double left = oldest.Deadline - _loop.Time();
        if (left > 0)
        {
            _watchdog = _loop.CallLater(left, s_watch, this);
            return;
        }
        Abort(new RedisTimeoutException(CommandFlags.None, $"Redis at {_endpoint} did not answer a command within {_timeout:0.###} s (the multiplexer's AsyncTimeout); the connection was dropped and the next call connects again.", CommandStatus.Sent));
    }

    /// <summary>Sends what was written since the last flush in one write.</summary>
    public void Flush()
    {
        if (_lost is null && _transport is { } t && _out.WrittenCount > 0)
        {
            t.Write(_out.WrittenSpan);
        }
        _out.ResetWrittenCount();
    }

    /// <summary>Closes the connection at once; pending replies fail with <paramref name="reason"/> (or a connection-lost error).</summary>
    public void Abort(Exception? reason)
    {
        Lose(reason);
        _transport?.Abort();
    }

    /// <summary>Returns <paramref name="value"/>, or throws the server's error it carries.</summary>
    public static object? Check(object? value) => value is RespError e ? throw new RedisServerException(RedisErrorKind.Unknown, CommandFlags.None, e.Message) : value;

    void IBaseProtocol.ConnectionMade(ITransport transport) => _transport = transport;

    void IBaseProtocol.ConnectionLost(Exception? exception) => Lose(null, exception);

    void IProtocol.DataReceived(ReadOnlySpan<byte> data)
    {
        if (_end + data.Length > _in.Length)
        {
            int kept = _end - _start;
            byte[] target = kept + data.Length > _in.Length ? new byte[Math.Max(_in.Length * 2, kept + data.Length)] : _in;
            Buffer.BlockCopy(_in, _start, target, 0, kept);
            _in = target;
            _start = 0;
            _end = kept;
        }
        data.CopyTo(_in.AsSpan(_end));
        _end += data.Length;
        while (_pending.Count > 0)
        {
            int pos = _start;
            if (!TryParse(_in.AsSpan(0, _end), ref pos, out object? value))
            {
                break;
            }
            _start = pos;
            Pending p = _pending.Dequeue();
            if (p.Timed)
            {
                _loop.EndOutsideWork(OutsideWorkKind.Reporting);
            }
            p.Reply?.Resolve(value);   // its awaiter may have been cancelled: the reply is dropped, the next one is the next command's
        }
        if (_start == _end)
        {
            _start = _end = 0;
        }
    }

    private void Lose(Exception? reason, Exception? cause = null)
    {
        if (_lost is not null)
        {
            return;
        }
        _lost = reason ?? new RedisConnectionException(ConnectionFailureType.SocketClosed, CommandFlags.None, $"The connection to Redis at {_endpoint} was lost{(cause is null ? "" : ": " + cause.Message)}; its owner connects again on its next call.", cause, CommandStatus.Unknown);
        _watchdog?.Cancel();
        _watchdog = null;
        while (_pending.TryDequeue(out Pending p))
        {
            if (p.Timed)
            {
                _loop.EndOutsideWork(OutsideWorkKind.Reporting);
            }
            p.Reply?.Fail(_lost);
        }
    }

    private void Header(byte kind, int n)
    {
        Span<byte> span = _out.GetSpan(14);
        span[0] = kind;
        Utf8Formatter.TryFormat(n, span[1..], out int written);
        span[1 + written] = (byte)'\r';
        span[2 + written] = (byte)'\n';
        _out.Advance(3 + written);
    }

    /// <summary>Parses one complete reply at <paramref name="pos"/>; false (and <paramref name="pos"/> unchanged) if it has not all arrived.</summary>
    private static bool TryParse(ReadOnlySpan<byte> buffer, ref int pos, out object? value)
    {
        value = null;
        if (pos >= buffer.Length)
        {
            return false;
        }
        int eol = buffer[(pos + 1)..].IndexOf("\r\n"u8);
        if (eol < 0)
        {
            return false;
        }
        ReadOnlySpan<byte> line = buffer.Slice(pos + 1, eol);
        int next = pos + 1 + eol + 2;
        switch (buffer[pos])
        {
            case (byte)'+':
                value = Encoding.UTF8.GetString(line);
                break;
            case (byte)'-':
                value = new RespError(Encoding.UTF8.GetString(line));
                break;
            case (byte)':':
                value = ParseInt(line);
                break;
            case (byte)'$':
                long length = ParseInt(line);
                if (length >= 0)
                {
                    if (buffer.Length < next + length + 2)
                    {
                        return false;
                    }
                    value = Encoding.UTF8.GetString(buffer.Slice(next, (int)length));
                    next += (int)length + 2;
                }
                break;
            case (byte)'*':
                long count = ParseInt(line);
                if (count >= 0)
                {
                    var items = new object?[count];
                    for (int i = 0; i < items.Length; i++)
                    {
                        if (!TryParse(buffer, ref next, out items[i]))
                        {
                            return false;
                        }
                    }
                    value = items;
                }
                break;
            default:
                throw new RedisConnectionException(ConnectionFailureType.ProtocolFailure, CommandFlags.None, $"A connection to Redis read an unexpected reply type '{(char)buffer[pos]}'; it is dropped and its owner connects again.", null, CommandStatus.Unknown);
        }
        pos = next;
        return true;
    }

    private static long ParseInt(ReadOnlySpan<byte> line) =>
        Utf8Parser.TryParse(line, out long v, out int used) && used == line.Length
            ? v
            : throw new RedisConnectionException(ConnectionFailureType.ProtocolFailure, CommandFlags.None, $"A connection to Redis read a malformed length or integer '{Encoding.UTF8.GetString(line)}'; it is dropped and its owner connects again.", null, CommandStatus.Unknown);

    public override string ToString() => $"<RespConnection {_endpoint}{(IsOpen ? "" : " closed")}>";
}
