using System.Diagnostics;
using System.Diagnostics.Metrics;
using static Aio.Http.Tests.Client.RawHttpServer;

namespace Aio.Http.Tests.Client;

/// <summary>The session's span and meter, filtered by the test server's port (other tests run in parallel).</summary>
public sealed class ObservabilityTests
{
    [Fact]
    public void Activity_RequestWithRedirect_OneSpanOverTheCallWithHandlerSpansAsChildren() => HttpTestLoop.Run(async () =>
    {
        var stopped = new List<Activity>();
        await using RawHttpServer server = await StartAsync((r, w) =>
            r.Target == "/old" ? RespondAsync(w, 302, "", "Location: /new") : RespondAsync(w, 200, "12345"));
        string prefix = server.Url("/");
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is "Aio.Http.Client" or "System.Net.Http",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                lock (stopped)
                {
                    stopped.Add(a);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        await using var session = new ClientSession(new() { Timeout = ClientTimeout.None });
        await using (ClientResponse response = await session.GetAsync(server.Url("/old")))
        {
            await response.TextAsync();
        }
        Activity[] mine;
        lock (stopped)
        {
            mine = stopped.Where(a => (a.GetTagItem("url.full") as string)?.StartsWith(prefix, StringComparison.Ordinal) == true).ToArray();
        }
        Activity call = Assert.Single(mine, a => a.Source.Name == "Aio.Http.Client");
        Assert.Equal(("ClientSession GET", 200, 1, 5L), (call.DisplayName, call.GetTagItem("http.response.status_code"), call.GetTagItem("aio.http.redirects"), call.GetTagItem("aio.http.body_bytes")));
        Activity[] hops = mine.Where(a => a.Source.Name == "System.Net.Http").ToArray();
        Assert.Equal(2, hops.Length);
        Assert.All(hops, h => Assert.Equal(call.SpanId, h.ParentSpanId));
    });

    [Fact]
    public void Meter_QueueWait_IsRecordedWithTheServer() => HttpTestLoop.Run(async () =>
    {
        var waits = new List<double>();
        var gate = new AioEvent();
        await using RawHttpServer server = await StartAsync(async (r, w) =>
        {
            await gate.WaitAsync();
            await RespondAsync(w, 200, "x");
        });
        using var listener = new MeterListener();
        listener.InstrumentPublished = (i, l) =>
        {
            if (i.Meter.Name == "Aio.Http.Client" && i.Name == "aio.http.client.queue.duration")
            {
                l.EnableMeasurementEvents(i);
            }
        };
        listener.SetMeasurementEventCallback<double>((i, value, tags, _) =>
        {
            foreach (KeyValuePair<string, object?> t in tags)
            {
                if (t.Key == "server.port" && (int)t.Value! == server.Port)
                {
                    lock (waits)
                    {
                        waits.Add(value);
                    }
                }
            }
        });
        listener.Start();
        await using var session = new ClientSession(new() { Timeout = ClientTimeout.None, LimitPerHost = 1 });
        AioTask<string>[] calls = Enumerable.Range(0, 2).Select(_ => CreateTask(async () =>
        {
            await using ClientResponse r = await session.GetAsync(server.Url("/"));
            return await r.TextAsync();
        })).ToArray();
        while (server.Requests.Count == 0)
        {
            await Sleep(0);
        }
        await Sleep(3);                                      // the second call waits 3 s in the queue
        gate.Set();
        await Gather(calls);
        Assert.Equal([3.0], waits);
    }, foreignWaitThreshold: 0.2);
}
