// QueueCommands: a JobQueue's command connection — the scripts on the path of every job (the enqueue, and its
// workers' acknowledgements, failures, renewals and take-overs) go over a loop-native RespConnection instead of
// StackExchange.Redis.
//
// Design note. StackExchange.Redis writes a command on its writer thread and reads the reply on its reader thread,
// then posts the continuation to the loop: two thread wake-ups per call at least (about three thread-pool work items),
// each one a scheduling delay on a busy machine and the pool's spinning meanwhile. Here the loop thread writes the
// EVALSHA straight into the socket and parses the reply in DataReceived: no other thread is involved.
// The connection is opened lazily by the first call on a running loop (calls that arrive while it connects wait for
// that one connect and share its failure); it belongs to that loop. A JobQueue is used on one loop's thread (its
// contract); a call from another loop while that loop is alive goes through StackExchange.Redis instead (RedisAwait),
// same results, just the old path; once the owning loop is closed, the next call connects on the caller's loop.
// A lost connection fails its pending replies with a RedisConnectionException (a command already sent may have run:
// the same contract as StackExchange.Redis's), a silent one with a RedisTimeoutException after the multiplexer's
// AsyncTimeout; the next call connects again. A connect failure is a RedisConnectionException (UnableToConnect), so
// callers that retry on RedisException (producers, the worker's back-off) carry on across a Redis restart. Scripts
// go by EVALSHA with a fallback to EVAL on NOSCRIPT (after a restart Redis holds no scripts).
using StackExchange.Redis;

namespace Aio.Jobs.Redis.Internal;

/// <summary>A JobQueue's loop-native command connection (see the design note at the top of the file).</summary>
internal sealed class QueueCommands(IConnectionMultiplexer redis, string clientName)
{
    /// <summary>A connect in progress: callers that arrive meanwhile wait for it and share its failure.</summary>
    private sealed class Connecting
    {
        public readonly EventLoop Loop = EventLoop.GetRunningLoop();
        public readonly AioEvent Done = new();
        public Exception? Error;
    }

    private RespConnection? _connection;
    private Connecting? _connecting;

    /// <summary>The connection, if one is open (for tests and ToString).</summary>
    internal RespConnection? Connection => _connection is { IsOpen: true } c ? c : null;

    /// <summary>
    /// Runs <paramref name="script"/> with <paramref name="args"/> (strings, ints and longs) and returns its reply as
    /// strings, longs, arrays (object?[]) and nulls.
    /// </summary>
    public Task<object?> EvalAsync(ScriptText script, object[] args)
    {
        EventLoop loop = EventLoop.GetRunningLoop();
        if (_connection is { } c && c.Loop == loop && c.IsOpen)
        {
            return c.EvalAsync(script, args);
        }
        return (_connection is { } other && other.Loop != loop && !other.Loop.IsClosed)
            || (_connecting is { } connecting && connecting.Loop != loop)
            ? ForeignAsync(script, args)
            : ConnectThenEvalAsync(script, args);
    }

    private async Task<object?> ConnectThenEvalAsync(ScriptText script, object[] args)
    {
        RespConnection c = await ConnectAsync();
        return await c.EvalAsync(script, args);
    }

    private async Task<RespConnection> ConnectAsync()
    {
        while (true)
        {
            if (_connection is { IsOpen: true } open && open.Loop == EventLoop.GetRunningLoop())
            {
                return open;
            }
            if (_connecting is { } pending)
            {
                await pending.Done.WaitAsync();
                if (pending.Error is { } error)
                {
                    throw error;
                }
                continue;   // connected (or the connecting caller was cancelled: connect again)
            }
            var connecting = new Connecting();
            _connecting = connecting;
            try
            {
                RespConnection? old = _connection;
                _connection = null;
                if (old is not null && old.Loop == EventLoop.GetRunningLoop())
                {
                    old.Abort(null);
                }
                _connection = await RespConnection.ConnectAsync(redis, clientName);
                return _connection;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                connecting.Error = e is RedisException ? e : new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None,
                    $"The queue's command connection could not connect to Redis ({redis.Configuration}): {e.Message}. Its next call tries again.", e, CommandStatus.Unknown);
                throw connecting.Error;
            }
            finally
            {
                _connecting = null;
                connecting.Done.Set();
            }
        }
    }

    /// <summary>A call from a loop other than the connection's: through StackExchange.Redis, its reply in the same shape.</summary>
    private async Task<object?> ForeignAsync(ScriptText script, object[] args)
    {
        var values = new RedisValue[args.Length];
        for (int i = 0; i < args.Length; i++)
        {
            values[i] = args[i] switch
            {
                string s => s,
                long l => l,
                int n => n,
                object o => throw new ArgumentException($"A script argument must be a string, an int or a long, not {o.GetType().Name}.", nameof(args)),
            };
        }
        return FromResult(await RedisAwait.Eval(redis.GetDatabase(), script.Body, [], values));
    }

    private static object? FromResult(RedisResult r)
    {
        if (r.IsNull)
        {
            return null;
        }
        switch (r.Resp2Type)
        {
            case ResultType.Integer:
                return (long)r;
            case ResultType.Array:
                var items = (RedisResult[])r!;
                var array = new object?[items.Length];
                for (int i = 0; i < items.Length; i++)
                {
                    array[i] = FromResult(items[i]);
                }
                return array;
            default:
                return (string?)r;
        }
    }

    /// <summary>Closes the connection if it is the running loop's (pending replies fail as on a lost connection).</summary>
    public void Close()
    {
        if (_connection is { } c && EventLoop.TryGetRunningLoop() == c.Loop)
        {
            _connection = null;
            c.Abort(null);
        }
    }
}
