// EventStreamWriter: server-sent events (the WHATWG "text/event-stream" format) on a streamed response.
//
// Design note. The producer runs in the request's task inside a cancel scope of the stream's own, next to a heartbeat
// task that writes a comment line when nothing was written for an interval (proxies and browsers drop silent
// connections). Every write goes through the response writer, so it waits while the client does not read
// (back-pressure); writes are whole events, so the heartbeat's comment never lands inside one. The client going away
// cancels the request's scope, and with it the producer. A graceful shutdown of the server cancels the stream's own
// scope: the producer stops, the stream ends with its last chunk — cleanly, within the grace period.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Aio.Http.Internal;

namespace Aio.Http;

/// <summary>
/// A server-sent event stream (aiohttp-sse's <c>EventSourceResponse</c>): made by
/// <see cref="Response.EventStream(Request, Func{EventStreamWriter, Task}, TimeSpan?)"/>, handed to its producer, which sends
/// events with <see cref="SendAsync"/>.
/// </summary>
/// <remarks>Belongs to the request's task: send from the producer (or tasks it awaits), not from other requests.</remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class EventStreamWriter
{
    private readonly ResponseBodyWriter _writer;
    private readonly EventLoop _loop;
    private double _lastWrite;
    private long _sent;

    internal EventStreamWriter(ResponseBodyWriter writer, string? lastEventId)
    {
        _writer = writer;
        _loop = EventLoop.GetRunningLoop();
        _lastWrite = _loop.Time();
        LastEventId = lastEventId;
    }

    /// <summary>The <c>Last-Event-ID</c> the client sent when it reconnected (the id of the last event it got), or null.</summary>
    public string? LastEventId { get; }

    /// <summary>True once the server began a graceful shutdown (the producer is being stopped).</summary>
    public bool IsShuttingDown { get; internal set; }

    /// <summary>Events sent so far.</summary>
    public long EventsSent => _sent;

    /// <summary>
    /// Sends one event: <paramref name="data"/> as one <c>data:</c> line per line (CR, LF and CRLF all end a line), with
    /// an optional event name, id (the client sends it back as Last-Event-ID) and reconnection delay. Waits while the
    /// client does not read.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="eventName"/> or <paramref name="id"/> contains CR or LF (or the id NUL): they would end the field early.</exception>
    public ValueTask SendAsync(string data, string? eventName = null, string? id = null, TimeSpan? retry = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckField(eventName, nameof(eventName), "event name");
        CheckField(id, nameof(id), "event id");
        if (id is not null && id.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"The event id '{id.Replace("\0", "\\0", StringComparison.Ordinal)}' contains NUL, which browsers reject; use an id without it.", nameof(id));
        }
        var sb = new StringBuilder(data.Length + 32);
        if (id is not null)
        {
            sb.Append("id: ").Append(id).Append('\n');
        }
        if (eventName is not null)
        {
            sb.Append("event: ").Append(eventName).Append('\n');
        }
        if (retry is TimeSpan r)
        {
            sb.Append("retry: ").Append(((long)r.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        int start = 0;
        for (int i = 0; i <= data.Length; i++)
        {
            if (i == data.Length || data[i] is '\r' or '\n')
            {
                sb.Append("data: ").Append(data, start, i - start).Append('\n');
                if (i < data.Length && data[i] == '\r' && i + 1 < data.Length && data[i + 1] == '\n')
                {
                    i++;
                }
                start = i + 1;
            }
        }
        sb.Append('\n');
        _sent++;
        return WriteAsync(sb.ToString());
    }

    /// <summary>Sends a comment line (<c>: text</c>), which clients ignore: a keep-alive of your own.</summary>
    public ValueTask CommentAsync(string text = "")
    {
        CheckField(text, nameof(text), "comment");
        return WriteAsync(text.Length == 0 ? ":\n\n" : $": {text}\n\n");
    }

    private ValueTask WriteAsync(string text)
    {
        _lastWrite = _loop.Time();
        return _writer.WriteAsync(text);
    }

    private static void CheckField(string? value, string parameter, string what)
    {
        if (value is not null && value.AsSpan().IndexOfAny('\r', '\n') >= 0)
        {
            throw new ArgumentException($"The {what} '{value.ReplaceLineEndings("\\n")}' contains a line break, which would end the field early; pass it without CR or LF.", parameter);
        }
    }

    internal async Task RunAsync(Func<EventStreamWriter, Task> producer, double heartbeat, HttpConnection connection)
    {
        var scope = new CancelScope();
        connection.ShutdownHook = () =>
        {
            IsShuttingDown = true;
            scope.Cancel("The server is shutting down.");
        };
        try
        {
            await scope.RunAsync(() => TaskGroup.Run(async group =>
            {
                AioTask? beat = heartbeat > 0 ? group.CreateTask(() => HeartbeatAsync(heartbeat)) : null;
                await producer(this);
                beat?.Cancel();
            }));
        }
        finally
        {
            connection.ShutdownHook = null;
        }
    }

    private async Task HeartbeatAsync(double interval)
    {
        while (true)
        {
            double due = _lastWrite + interval;
            double now = _loop.Time();
            if (now < due)
            {
                await Asyncio.Sleep(due - now);
                continue;
            }
            await CommentAsync();
        }
    }

    /// <summary>asyncio-style description: <c>&lt;EventStream sent:3&gt;</c>.</summary>
    public override string ToString() => $"<EventStreamWriter sent:{_sent}{(IsShuttingDown ? " shutting-down" : "")}>";
}
