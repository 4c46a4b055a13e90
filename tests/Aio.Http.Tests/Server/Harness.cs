using System.Text;
using System.Text.RegularExpressions;

namespace Aio.Http.Tests.Server;

/// <summary>Raw exchanges with an application over the in-memory transport, in virtual time.</summary>
internal static partial class Harness
{
    /// <summary>An application that answers the requests the tests send.</summary>
    public static Application EchoApp(Action<Application>? configure = null)
    {
        var app = new Application();
        app.Router.Get("/", _ => Response.Text("Hello, World!"));
        app.Router.Route("*", "/echo", async req =>
        {
            string body = await req.TextAsync();
            return Response.Text($"{req.Method} {req.RawTarget} host={req.Host} body={body}");
        });
        app.Router.Post("/ignore", _ => Response.Text("ignored"));
        app.Router.Get("/host", req => Response.Text(req.Host));
        configure?.Invoke(app);
        return app;
    }

    /// <summary>
    /// Sends the chunks (each one server read) and returns all the server wrote until it closed the connection (Date
    /// normalized); a kept-alive connection closes after the keep-alive timeout, at once in virtual time.
    /// </summary>
    public static async Task<string> ExchangeAsync(TestClient client, IEnumerable<byte[]> chunks)
    {
        TestConnection c = client.Connect();
        foreach (byte[] chunk in chunks)
        {
            c.Send(chunk);
        }
        return Normalize(await c.ReadToEndAsync());
    }

    public static string Normalize(string raw) => DateLine().Replace(raw, "Date: X\r\n");

    [GeneratedRegex("Date: [^\r]*\r\n")]
    private static partial Regex DateLine();

    /// <summary>Runs one exchange per way to split <paramref name="request"/>: whole, at every byte offset, and random multi-splits; returns the whole's answer after checking that every split gives the same.</summary>
    public static string ExchangeAllSplits(Func<Application> makeApp, string request, int randomSplits = 20, Action<HttpLimits>? limits = null)
    {
        byte[] bytes = Encoding.Latin1.GetBytes(request);
        return TestLoop.Run(async () =>
        {
            Application app = makeApp();
            limits?.Invoke(app.Limits);
            await using var client = new TestClient(app);
            string whole = await ExchangeAsync(client, [bytes]);
            for (int i = 1; i < bytes.Length; i++)
            {
                string split = await ExchangeAsync(client, [bytes[..i], bytes[i..]]);
                Assert.True(whole == split, $"Split at {i} of {bytes.Length} answered differently.\nwhole:\n{whole}\nsplit:\n{split}");
            }
            var random = new Random(42);
            for (int k = 0; k < randomSplits; k++)
            {
                var chunks = new List<byte[]>();
                int pos = 0;
                while (pos < bytes.Length)
                {
                    int n = Math.Min(bytes.Length - pos, 1 + random.Next(Math.Max(1, bytes.Length / 4)));
                    chunks.Add(bytes[pos..(pos + n)]);
                    pos += n;
                }
                string split = await ExchangeAsync(client, chunks);
                Assert.True(whole == split, $"Random split {k} answered differently.\nwhole:\n{whole}\nsplit:\n{split}");
            }
            return whole;
        });
    }

    /// <summary>The status codes of the responses in <paramref name="raw"/>, in order.</summary>
    public static List<int> Statuses(string raw) =>
        StatusLine().Matches(raw).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();

    [GeneratedRegex(@"HTTP/1\.1 (\d{3}) ")]
    private static partial Regex StatusLine();
}
