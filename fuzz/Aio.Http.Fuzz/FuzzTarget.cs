using System.Text;
using System.Text.RegularExpressions;
using Aio.Http;
using Aio.Http.Testing;
using Aio.Testing;

namespace Aio.Http.Fuzz;

/// <summary>
/// One fuzz input through the real parser and connection code (TestClient, virtual time), checked against the
/// server's invariants: no error reaches the loop, the connection always ends (no hang: a virtual-time bound), the
/// output is a sequence of well-formed responses, and the answer does not depend on how the bytes were split.
/// </summary>
public static partial class FuzzTarget
{
    /// <summary>Limits small enough that inputs reach them.</summary>
    public static Application MakeApp()
    {
        var app = new Application { Debug = Environment.GetEnvironmentVariable("FUZZ_DEBUG") == "1" };
        app.Limits.MaxRequestLineSize = 256;
        app.Limits.MaxRequestHeadersTotalSize = 512;
        app.Limits.MaxRequestHeaderCount = 12;
        app.Limits.MaxRequestBodySize = 1024;
        app.Limits.MaxChunkExtensionSize = 32;
        app.Limits.MaxDrainSize = 256;
        app.Router.Get("/", _ => Response.Text("Hello, World!"));
        app.Router.Route("*", "/echo", async req =>
        {
            byte[] body = await req.ReadBodyAsync();
            return Response.Text($"{req.Method} {req.Path} {req.Host} {req.Headers.Count} {body.Length} {Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(body))[..8]}");
        });
        app.Router.Post("/ignore", _ => Response.Text("ignored"));
        app.Router.Post("/form", async req =>
        {
            MultiDict fields = await req.FormAsync();
            return Response.Text($"{fields.Count} {req.Files.Count} {string.Join(",", fields.Select(kv => kv.Key.Length + ":" + kv.Value.Length))}");
        });
        app.Router.Get("/stream", _ => Response.Stream(async body =>
        {
            await body.WriteAsync("a");
            await body.WriteAsync("bc");
        }, "text/plain"));
        app.Router.Get("/items/{id:int}/{*rest}", req => Response.Text(req.Route("id") + "|" + req.Route("rest") + "|" + req.Query.Count));
        return app;
    }

    /// <summary>A problem found, or null.</summary>
    public static string? Check(byte[] input, Random random)
    {
        try
        {
            return AioTest.Run(async () =>
            {
                await using var client = new TestClient(MakeApp());
                string whole = await ExchangeAsync(client, [input]);
                string? bad = WellFormed(whole, input.AsSpan().IndexOf("HEAD "u8) >= 0);
                if (bad is not null)
                {
                    return bad;
                }
                for (int k = 0; k < 3; k++)
                {
                    string split = await ExchangeAsync(client, RandomSplit(input, random));
                    if (split != whole)
                    {
                        return $"the answer depends on the split:\nwhole: {Escape(whole)}\nsplit: {Escape(split)}";
                    }
                }
                return null;
            });
        }
        catch (Exception e)
        {
            return "exception: " + e;
        }
    }

    private static async Task<string> ExchangeAsync(TestClient client, List<byte[]> chunks)
    {
        TestConnection c = client.Connect();
        foreach (byte[] chunk in chunks)
        {
            c.Send(chunk);
        }
        // Whatever the input, the server ends the connection within the keep-alive or headers timeout (virtual time).
        string raw = await Asyncio.FailAfter(1000, c.ReadToEndAsync);
        // The interim 100 Continue depends on timing by design (it is sent only while no body byte has arrived).
        return DateLine().Replace(raw, "Date: X\r\n").Replace("HTTP/1.1 100 Continue\r\n\r\n", "", StringComparison.Ordinal);
    }

    private static List<byte[]> RandomSplit(byte[] input, Random random)
    {
        var chunks = new List<byte[]>();
        int pos = 0;
        while (pos < input.Length)
        {
            int n = Math.Min(input.Length - pos, 1 + random.Next(Math.Max(1, input.Length / 3)));
            chunks.Add(input[pos..(pos + n)]);
            pos += n;
        }
        return chunks;
    }

    /// <summary>The output must be responses only: status line, fields, and a body as framed.</summary>
    private static string? WellFormed(string output, bool mayHaveHead)
    {
        int pos = 0;
        while (pos < output.Length)
        {
            Match m = StatusLine().Match(output, pos);
            if (!m.Success || m.Index != pos)
            {
                return $"not a response at {pos}: {Escape(output)}";
            }
            int end = output.IndexOf("\r\n\r\n", pos, StringComparison.Ordinal);
            if (end < 0)
            {
                return $"unterminated head: {Escape(output)}";
            }
            Match cl = ContentLength().Match(output[pos..(end + 2)]);
            pos = end + 4;
            bool headAnswer = mayHaveHead && (pos == output.Length || StatusLine().Match(output, pos) is { Success: true } next && next.Index == pos);
            if (headAnswer)
            {
                // An answer to HEAD: the length of the body it would have, no body.
            }
            else if (cl.Success)
            {
                pos += int.Parse(cl.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            }
            else if (output[m.Index..end].Contains("Transfer-Encoding: chunked", StringComparison.Ordinal))
            {
                int last = output.IndexOf("0\r\n\r\n", pos, StringComparison.Ordinal);
                if (last < 0)
                {
                    return $"an unterminated chunked body: {Escape(output)}";
                }
                pos = last + 5;
            }
            else if (output[m.Index..end].Contains("Connection: close", StringComparison.Ordinal) && !output[m.Index..end].Contains(" 204 ", StringComparison.Ordinal))
            {
                pos = output.Length;   // a body that ends with the connection (HTTP/1.0 streaming)
            }
            else if (!output[m.Index..end].Contains(" 100 Continue", StringComparison.Ordinal) && !output[m.Index..end].Contains(" 204 ", StringComparison.Ordinal))
            {
                return $"a response without a length: {Escape(output)}";
            }
            if (pos > output.Length)
            {
                return $"a body shorter than its Content-Length: {Escape(output)}";
            }
        }
        return null;
    }

    public static string Escape(string s) => s.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    /// <summary>A short signature of the answer (statuses in order), to keep inputs that reach new behaviour.</summary>
    public static string Signature(byte[] input)
    {
        string output = AioTest.Run(async () =>
        {
            await using var client = new TestClient(MakeApp());
            return await ExchangeAsync(client, [input]);
        });
        var sb = new StringBuilder();
        foreach (Match m in StatusLine().Matches(output))
        {
            sb.Append(m.Groups[1].Value).Append(',');
        }
        return sb.ToString();
    }

    [GeneratedRegex("Date: [^\r]*\r\n")]
    private static partial Regex DateLine();

    [GeneratedRegex(@"HTTP/1\.1 (\d{3}) [^\r\n]*\r\n")]
    private static partial Regex StatusLine();

    [GeneratedRegex(@"\r\nContent-Length: (\d+)\r\n")]
    private static partial Regex ContentLength();
}
