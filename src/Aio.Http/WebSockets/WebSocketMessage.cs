using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Aio.Http;

/// <summary>What a <see cref="WebSocketMessage"/> carries (aiohttp's <c>WSMsgType</c>, the kinds a program sees).</summary>
public enum WebSocketMessageKind
{
    /// <summary>A text message: <see cref="WebSocketMessage.Text"/>.</summary>
    Text,

    /// <summary>A binary message: <see cref="WebSocketMessage.Data"/>.</summary>
    Binary,

    /// <summary>The peer closed the WebSocket: <see cref="WebSocketMessage.CloseStatus"/> and <see cref="WebSocketMessage.CloseDescription"/>. Nothing follows.</summary>
    Close,
}

/// <summary>
/// One message received on an <see cref="AioWebSocket"/> (aiohttp's <c>WSMessage</c>), on the client's and the server's
/// side alike: a whole text or binary message, or the peer's close.
/// </summary>
public sealed class WebSocketMessage
{
    private WebSocketMessage(WebSocketMessageKind kind, byte[] data, WebSocketCloseStatus? status, string? description)
    {
        Kind = kind;
        Data = data;
        CloseStatus = status;
        CloseDescription = description;
    }

    internal static WebSocketMessage FromFrame(WebSocketMessageType type, byte[] data) =>
        new(type == WebSocketMessageType.Text ? WebSocketMessageKind.Text : WebSocketMessageKind.Binary, data, null, null);

    internal static WebSocketMessage Closed(WebSocketCloseStatus? status, string? description) =>
        new(WebSocketMessageKind.Close, [], status, description);

    /// <summary>The kind of message.</summary>
    public WebSocketMessageKind Kind { get; }

    /// <summary>The payload (UTF-8 for a text message); empty for a close.</summary>
    public byte[] Data { get; }

    private string? _text;

    /// <summary>
    /// The payload of a text message as a string (decoded on first use, then kept); for a binary message, its bytes
    /// decoded as UTF-8. To pass a text message on unchanged, send <see cref="Data"/> with
    /// <see cref="AioWebSocket.SendTextAsync(ReadOnlyMemory{byte})"/>: no string is made.
    /// </summary>
    public string Text => _text ??= Encoding.UTF8.GetString(Data);

    /// <summary>For <see cref="WebSocketMessageKind.Close"/>, the status the peer gave (null if none).</summary>
    public WebSocketCloseStatus? CloseStatus { get; }

    /// <summary>For <see cref="WebSocketMessageKind.Close"/>, the reason the peer gave.</summary>
    public string? CloseDescription { get; }

    /// <summary>The payload deserialized from JSON (System.Text.Json, web defaults; aiohttp's <c>msg.json()</c>).</summary>
    public T? Json<T>(JsonSerializerOptions? options = null) => JsonSerializer.Deserialize<T>(Data, options ?? JsonSerializerOptions.Web);

    /// <summary>asyncio-style description: <c>&lt;WebSocketMessage Text 5 bytes&gt;</c>, <c>&lt;WebSocketMessage Close NormalClosure 'bye'&gt;</c>.</summary>
    public override string ToString() => Kind == WebSocketMessageKind.Close
        ? $"<WebSocketMessage Close {CloseStatus} '{CloseDescription}'>"
        : $"<WebSocketMessage {Kind} {Data.Length} bytes>";
}
