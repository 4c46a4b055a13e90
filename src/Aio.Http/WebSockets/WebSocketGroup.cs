// WebSocketGroup: broadcast to many WebSockets without letting a slow one hold up the rest.
//
// Design note. A broadcast never waits. Each member has a bounded outbox and a sender task that exists only while the
// outbox is not empty; the sender awaits the member's sends one after the other, so back-pressure on one socket (its peer
// does not read) fills only that member's outbox. A member whose outbox is full when a message comes is slow, and the
// group's policy decides: DropMessages skips the message for it (counted in DroppedMessages), Disconnect drops its
// connection (its handler's receive fails) and removes it. The message is encoded once and shared by every send.
// A member whose send fails (its connection is gone) leaves the group.
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Aio.Http;

/// <summary>What a <see cref="WebSocketGroup"/> does with a member that does not keep up (its outbox is full).</summary>
public enum SlowClientPolicy
{
    /// <summary>The member misses the messages that do not fit in its outbox; it stays in the group.</summary>
    DropMessages,

    /// <summary>The member's connection is dropped and it leaves the group (its handler's receive fails).</summary>
    Disconnect,
}

/// <summary>
/// A set of WebSockets to broadcast to (a chat room, a live feed): <see cref="Broadcast(string)"/> queues the message for
/// every member and returns at once; each member's messages go out in order at the pace its peer reads, and a member that
/// falls <see cref="MaxQueuedMessages"/> behind is handled by the <see cref="Policy"/>, never slowing the others down.
/// </summary>
/// <remarks>Belongs to the loop it is used on. Members are removed when their sends fail; remove a member yourself when its handler ends.</remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class WebSocketGroup
{
    private sealed class Member(AioWebSocket socket)
    {
        public readonly AioWebSocket Socket = socket;
        public readonly Queue<(ReadOnlyMemory<byte> Data, WebSocketMessageType Type)> Outbox = new();
        public bool Sending;
        public bool Removed;
    }

    private readonly Dictionary<AioWebSocket, Member> _members = new();
    private long _dropped;
    private long _disconnected;

    /// <summary>Creates an empty group.</summary>
    /// <param name="policy">What to do with a member that falls behind. Default <see cref="SlowClientPolicy.DropMessages"/>.</param>
    /// <param name="maxQueuedMessages">How many messages a member's outbox holds. Default 64.</param>
    public WebSocketGroup(SlowClientPolicy policy = SlowClientPolicy.DropMessages, int maxQueuedMessages = 64)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxQueuedMessages, 1);
        Policy = policy;
        MaxQueuedMessages = maxQueuedMessages;
    }

    /// <summary>What happens to a member that falls behind.</summary>
    public SlowClientPolicy Policy { get; }

    /// <summary>How many messages a member's outbox holds before it counts as slow.</summary>
    public int MaxQueuedMessages { get; }

    /// <summary>The members now.</summary>
    public int Count => _members.Count;

    /// <summary>Messages not sent to a slow member under <see cref="SlowClientPolicy.DropMessages"/>, in all.</summary>
    public long DroppedMessages => _dropped;

    /// <summary>Members disconnected under <see cref="SlowClientPolicy.Disconnect"/>, in all.</summary>
    public long DisconnectedMembers => _disconnected;

    /// <summary>Adds a WebSocket; false if it is a member already.</summary>
    public bool Add(AioWebSocket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        return _members.TryAdd(socket, new Member(socket));
    }

    /// <summary>Removes a WebSocket (its queued messages are not sent); false if it was not a member.</summary>
    public bool Remove(AioWebSocket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        if (!_members.Remove(socket, out Member? m))
        {
            return false;
        }
        m.Removed = true;
        m.Outbox.Clear();
        return true;
    }

    /// <summary>Queues a text message for every member; returns how many members it was queued for.</summary>
    public int Broadcast(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Broadcast(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text);
    }

    /// <summary>Queues a binary message for every member (the bytes are shared: do not change them); returns how many members it was queued for.</summary>
    public int BroadcastBytes(ReadOnlyMemory<byte> data) => Broadcast(data, WebSocketMessageType.Binary);

    /// <summary>Queues <paramref name="value"/> as a JSON text message for every member; returns how many members it was queued for.</summary>
    public int BroadcastJson<T>(T value, JsonSerializerOptions? options = null) =>
        Broadcast(JsonSerializer.SerializeToUtf8Bytes(value, options ?? JsonSerializerOptions.Web), WebSocketMessageType.Text);

    private int Broadcast(ReadOnlyMemory<byte> data, WebSocketMessageType type)
    {
        int queued = 0;
        List<Member>? slow = null;
        foreach (Member m in _members.Values)
        {
            if (m.Socket.IsClosed || m.Socket.State != WebSocketState.Open)
            {
                (slow ??= new()).Add(m);
                continue;
            }
            if (m.Outbox.Count >= MaxQueuedMessages)
            {
                if (Policy == SlowClientPolicy.DropMessages)
                {
                    _dropped++;
                    continue;
                }
                (slow ??= new()).Add(m);
                continue;
            }
            m.Outbox.Enqueue((data, type));
            queued++;
            if (!m.Sending)
            {
                m.Sending = true;
                m.Socket.StartTask(static m => SendLoopAsync(m), m, "websocket group sender");
            }
        }
        if (slow is not null)
        {
            foreach (Member m in slow)
            {
                Remove(m.Socket);
                if (m.Socket.State == WebSocketState.Open)
                {
                    _disconnected++;
                    m.Socket.AbortConnection();
                }
            }
        }
        return queued;
    }

    private static async Task<bool> SendLoopAsync(Member m)
    {
        try
        {
            while (!m.Removed && m.Outbox.TryDequeue(out var item))
            {
                await m.Socket.SendAsync(item.Data, item.Type);
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException or InvalidOperationException or ObjectDisposedException)
        {
            m.Outbox.Clear();      // the connection is gone: the next broadcast removes the member
        }
        finally
        {
            m.Sending = false;
        }
        return true;
    }

    /// <summary>asyncio-style description: <c>&lt;WebSocketGroup members:3 DropMessages dropped:0&gt;</c>.</summary>
    public override string ToString() => $"<WebSocketGroup members:{_members.Count} {Policy} dropped:{_dropped} disconnected:{_disconnected}>";
}
