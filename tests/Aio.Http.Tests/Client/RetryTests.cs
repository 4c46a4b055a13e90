using static Aio.Http.Tests.Client.RawHttpServer;

namespace Aio.Http.Tests.Client;

/// <summary>Retries by Polly on the loop's clock (virtual time): the times at which the server saw each attempt.</summary>
[Collection(nameof(TimingCollection))]
public sealed class RetryTests
{
    private static ClientSessionOptions Retrying(int maxRetries = 3) => new()
    {
        Timeout = ClientTimeout.None,
        Retry = new() { UseJitter = false, BaseDelay = TimeSpan.FromSeconds(1), MaxRetries = maxRetries },
    };

    [Fact]
    public void Retry_503WithRetryAfter_WaitsAsToldAndSucceeds() => HttpTestLoop.Run(async () =>
    {
        var seen = new List<double>();
        await using RawHttpServer server = await StartAsync((r, w) =>
        {
            seen.Add(HttpTestLoop.Now);
            return seen.Count < 3 ? RespondAsync(w, 503, "busy", "Retry-After: 5") : RespondAsync(w, 200, "ok");
        });
        await using var session = new ClientSession(Retrying());
        await using ClientResponse response = await session.GetAsync(server.Url("/"));
        Assert.Equal("ok", await response.TextAsync());
        Assert.Equal([0.0, 5.0, 10.0], seen);
        Assert.Equal(0, session.ActiveRequests);
    });

    [Fact]
    public void Retry_ServerErrors_BackOffExponentially() => HttpTestLoop.Run(async () =>
    {
        var seen = new List<double>();
        await using RawHttpServer server = await StartAsync((r, w) =>
        {
            seen.Add(HttpTestLoop.Now);
            return seen.Count < 4 ? RespondAsync(w, 502, "bad gateway") : RespondAsync(w, 200, "ok");
        });
        await using var session = new ClientSession(Retrying());
        await using ClientResponse response = await session.GetAsync(server.Url("/"));
        Assert.Equal("ok", await response.TextAsync());
        Assert.Equal([0.0, 1.0, 3.0, 7.0], seen);                 // delays 1, 2, 4
    });

    [Fact]
    public void Retry_ConnectionRefused_RetriesThenThrows() => HttpTestLoop.Run(async () =>
    {
        int port;
        await using (RawHttpServer closed = await StartAsync((r, w) => Task.CompletedTask))
        {
            port = closed.Port;
        }
        await using var session = new ClientSession(Retrying(maxRetries: 2));
        HttpRequestException e = await Assert.ThrowsAsync<HttpRequestException>(() => session.GetAsync($"http://127.0.0.1:{port}/"));
        Assert.Equal((HttpRequestError.ConnectionError, 3.0), (e.HttpRequestError, HttpTestLoop.Now));
    });

    [Fact]
    public void Retry_Post_IsNotRetried() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await StartAsync((r, w) => RespondAsync(w, 503, "busy"));
        await using var session = new ClientSession(Retrying());
        await using ClientResponse response = await session.PostAsync(server.Url("/"), new StringContent("x"));
        Assert.Equal((503, 1), (response.Status, server.Requests.Count));
    });

    [Fact]
    public void Retry_StillFailing_ReturnsTheLastResponse() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await StartAsync((r, w) => RespondAsync(w, 500, $"attempt {r.Target}"));
        await using var session = new ClientSession(Retrying(maxRetries: 2));
        await using ClientResponse response = await session.GetAsync(server.Url("/"));
        Assert.Equal((500, 3, 1), (response.Status, server.Requests.Count, session.ActiveRequests));
    });

    [Fact]
    public void Retry_CancelledDuringTheBackOff_StopsAtOnce() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await StartAsync((r, w) => RespondAsync(w, 503, "busy", "Retry-After: 20"));
        await using var session = new ClientSession(Retrying());
        bool inTime = await MoveOnAfter(5, async () => await session.GetAsync(server.Url("/")));
        Assert.Equal((false, 5.0, 1, 0), (inTime, HttpTestLoop.Now, server.Requests.Count, session.ActiveRequests));
    });

    [Fact]
    public void Retry_BackOffPastTheTotalLimit_EndsAtTheLimit() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await StartAsync((r, w) => RespondAsync(w, 503, "busy", "Retry-After: 20"));
        await using var session = new ClientSession(Retrying() with { Timeout = new() { Total = TimeSpan.FromSeconds(5) } });
        ClientTimeoutException e = await Assert.ThrowsAsync<ClientTimeoutException>(() => session.GetAsync(server.Url("/")));
        Assert.Equal((ClientTimeoutKind.Total, 5.0, 1, 0), (e.Kind, HttpTestLoop.Now, server.Requests.Count, session.ActiveRequests));
        Assert.Contains("timed out while retrying", e.Message, StringComparison.Ordinal);
    });
}
