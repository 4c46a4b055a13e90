namespace Aio.Http.Tests.Client;

/// <summary>The client's public surface, listed: a change to it shows up here and is deliberate.</summary>
public sealed class PublicApiTests
{
    private static readonly string[] ClientTypes =
    [
        "Aio.Http.AioWebSocket", "Aio.Http.AioWebSocketOptions", "Aio.Http.ClientRequestOptions", "Aio.Http.ClientResponse",
        "Aio.Http.ClientRetryOptions", "Aio.Http.ClientSession", "Aio.Http.ClientSessionOptions", "Aio.Http.ClientTimeout",
        "Aio.Http.ClientTimeoutException", "Aio.Http.ClientTimeoutKind", "Aio.Http.ClientTraceEvent", "Aio.Http.ClientTraceEventKind",
        "Aio.Http.TooManyRedirectsException", "Aio.Http.WebSocketGroup", "Aio.Http.WebSocketMessage", "Aio.Http.WebSocketMessageKind",
    ];

    [Fact]
    public void PublicTypes_OfTheClient_AreTheDocumentedSet()
    {
        string[] types = typeof(ClientSession).Assembly.GetExportedTypes()
            .Select(t => t.FullName!)
            .Where(n => n.StartsWith("Aio.Http.Client", StringComparison.Ordinal) || n.Contains("WebSocket", StringComparison.Ordinal) || n.Contains("Redirects", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToArray();
        Assert.Equal(ClientTypes, types);
    }

    [Fact]
    public void ClientSession_PublicMethods_AreTheDocumentedSet()
    {
        string[] methods = typeof(ClientSession).GetMethods(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.DeclaredOnly)
            .Where(m => !m.IsSpecialName)
            .Select(m => m.Name)
            .Distinct()
            .Order(StringComparer.Ordinal)
            .ToArray();
        Assert.Equal(
            ["DeleteAsync", "DisposeAsync", "GetAsync", "HeadAsync", "PatchAsync", "PostAsync", "PostFormAsync", "PostJsonAsync", "PutAsync", "PutJsonAsync", "RequestAsync", "ToString", "WebSocketAsync"],
            methods);
    }

    [Fact]
    public void ToString_SessionAndResponse_ReadLikeAsyncio() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await RawHttpServer.StartAsync((r, w) => RawHttpServer.RespondAsync(w, 200, "x"));
        await using var session = new ClientSession(new() { Timeout = ClientTimeout.None });
        ClientResponse response = await session.GetAsync(server.Url("/p"));
        Assert.Equal(($"<ClientResponse({server.Url("/p")}) [200 OK] open>", "<ClientSession active=1 queued=0 connections=1>"), (response.ToString(), session.ToString()));
        await response.DisposeAsync();
        Assert.Equal(($"<ClientResponse({server.Url("/p")}) [200 OK]>", "<ClientSession active=0 queued=0 connections=1>"), (response.ToString(), session.ToString()));
    });
}
