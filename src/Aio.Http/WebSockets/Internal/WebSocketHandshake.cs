// WebSocketHandshake: the server's side of RFC 6455 §4.2 — validates an opening handshake and answers it.
//
// Design note. Every rule gives its own status and a body that names the rule, so a client author sees what to fix:
// 405 for a method other than GET, 400 for HTTP/1.0, a missing "websocket" token in Upgrade or "upgrade" token in
// Connection (tokens are case-insensitive and may sit in comma lists or repeated fields), or a Sec-WebSocket-Key that is
// not base64 of 16 bytes; 426 with "Sec-WebSocket-Version: 13" for any other version; 403 for an Origin the options do
// not allow. The sub-protocol is the server's first preference that the client offered; none in common means none (the
// client decides whether to go on). After the 101, WebSocketSession runs the handler on the taken-over connection.
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;

namespace Aio.Http.Internal;

internal static class WebSocketHandshake
{
    private const string Guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    /// <summary>Whether the request asks for a WebSocket (an Upgrade field with the "websocket" token).</summary>
    public static bool IsWebSocketRequest(Request request) => HasToken(request.Headers.GetAll("Upgrade"), "websocket");

    /// <summary>Validates the handshake; null and the accept value, sub-protocol on success, else the error response.</summary>
    public static Response? Validate(Request request, AioWebSocketOptions options, out string accept, out string? subProtocol)
    {
        accept = "";
        subProtocol = null;
        if (request.Method != "GET")
        {
            Response r = Response.Text($"A WebSocket handshake uses GET, not {request.Method} (RFC 6455 §4.1).", 405);
            r.Headers["Allow"] = "GET";
            return r;
        }
        if (request.Version != "HTTP/1.1")
        {
            return Response.Text("A WebSocket handshake needs HTTP/1.1 (RFC 6455 §4.1).", 400);
        }
        if (!IsWebSocketRequest(request))
        {
            return Response.Text("Not a WebSocket handshake: the Upgrade field has no \"websocket\" token (RFC 6455 §4.2.1).", 400);
        }
        if (!HasToken(request.Headers.GetAll("Connection"), "upgrade"))
        {
            return Response.Text("Not a WebSocket handshake: the Connection field has no \"Upgrade\" token (RFC 6455 §4.2.1).", 400);
        }
        IReadOnlyList<string> versions = request.Headers.GetAll("Sec-WebSocket-Version");
        if (versions.Count != 1 || versions[0].Trim() != "13")
        {
            Response r = Response.Text("Unsupported WebSocket version: this server speaks Sec-WebSocket-Version 13 (RFC 6455 §4.4).", 426);
            r.Headers["Sec-WebSocket-Version"] = "13";
            return r;
        }
        IReadOnlyList<string> keys = request.Headers.GetAll("Sec-WebSocket-Key");
        if (keys.Count != 1 || !IsValidKey(keys[0].Trim()))
        {
            return Response.Text("The Sec-WebSocket-Key field must be one base64 value of 16 bytes (RFC 6455 §4.1).", 400);
        }
        if (options.AllowedOrigins is { } origins)
        {
            string? origin = request.Headers["Origin"];
            bool allowed = false;
            foreach (string o in origins)
            {
                if (origin is not null && string.Equals(o, origin.Trim(), StringComparison.OrdinalIgnoreCase))
                {
                    allowed = true;
                    break;
                }
            }
            if (!allowed)
            {
                return Response.Text($"The origin {(origin is null ? "(none)" : "'" + origin + "'")} may not open a WebSocket here (AioWebSocketOptions.AllowedOrigins).", 403);
            }
        }
        if (options.SubProtocols is { Count: > 0 } supported)
        {
            var offered = new List<string>();
            foreach (string field in request.Headers.GetAll("Sec-WebSocket-Protocol"))
            {
                foreach (string p in field.Split(','))
                {
                    offered.Add(p.Trim());
                }
            }
            foreach (string p in supported)
            {
                if (offered.Contains(p, StringComparer.Ordinal))
                {
                    subProtocol = p;
                    break;
                }
            }
        }
        accept = AcceptValue(keys[0].Trim());
        return null;
    }

    /// <summary>The Sec-WebSocket-Accept value for a key: base64(SHA-1(key + the RFC's GUID)).</summary>
#pragma warning disable CA5350 // RFC 6455 fixes SHA-1 for the accept value; it is a handshake check, not security
    public static string AcceptValue(string key) =>
        Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + Guid)));
#pragma warning restore CA5350

    private static bool IsValidKey(string key)
    {
        Span<byte> decoded = stackalloc byte[24];
        return key.Length == 24 && Convert.TryFromBase64String(key, decoded, out int n) && n == 16;
    }

    private static bool HasToken(IReadOnlyList<string> fields, string token)
    {
        foreach (string field in fields)
        {
            foreach (string part in field.Split(','))
            {
                if (string.Equals(part.Trim(), token, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }
        return false;
    }
}

/// <summary>Runs a WebSocket handler on a connection taken over after the 101.</summary>
internal static class WebSocketSession
{
    public static async Task RunAsync(Request request, UpgradedConnection up, AioWebSocketOptions options, string? subProtocol, Func<AioWebSocket, Task> handler)
    {
        HttpServerCore core = request.Connection.Core;
        var stream = new WebSocketServerStream(core.Loop, up.Transport, options, up.Lost);
        up.Transport.SetProtocol(stream);
        WebSocket socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions
        {
            IsServer = true,
            SubProtocol = subProtocol,
            KeepAliveInterval = TimeSpan.Zero,    // the heartbeat is the stream's, on the loop's clock
        });
        string peer = $"{request.RemoteAddress} {request.Path}";
        AioWebSocket ws = AioWebSocket.ForServer(socket, options, peer, stream);
        ws.AdoptTask = core.Tasks.Adopt;
        up.OnShutdown = ws.GoAway;
        stream.Start(up.ReceivedBytes);
        core.Log.WebSocketOpened(peer, subProtocol ?? "-");
        if (core.IsShuttingDown)
        {
            ws.GoAway();
        }
        try
        {
            await handler(ws);
        }
        catch (WebSocketException e)
        {
            // The peer broke the protocol, went away, or stopped answering: not the handler's fault.
            core.Log.WebSocketFailed(peer, e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            core.Log.HandlerFailed(request.ToString(), e);
            if (ws.State == WebSocketState.Open)
            {
                await ws.CloseAsync(WebSocketCloseStatus.InternalServerError, "server error");
            }
        }
        finally
        {
            await ws.DisposeAsync();
            core.Log.WebSocketClosed(peer, ws.WebSocket.CloseStatus?.ToString() ?? stream.GuardStatus?.ToString() ?? "none");
        }
    }
}
