using System.Net;
using System.Text;
using System.Text.Json;
using Aio;
using Aio.Net;
using static Aio.Asyncio;

namespace Aio.Examples.HttpClient;

/// <summary>
/// The local "jobs API" the example queries, so it runs offline: <c>GET /jobs?technology=X</c> answers the postings of
/// data/jobs.json for that technology as JSON after <see cref="Delay"/> seconds (like a slow remote API). Just enough
/// HTTP/1.1 on Aio's streams for a client; Aio.Http's own server will serve it instead.
/// </summary>
public static class LocalJobsApi
{
    public const double Delay = 1.0;

    public static async Task<(Server Server, string BaseUrl)> StartAsync()
    {
        List<Job> jobs = JobsData.Load();
        Server server = await StartServerAsync((r, w) => ServeAsync(jobs, r, w), "127.0.0.1", 0);
        return (server, $"http://127.0.0.1:{((IPEndPoint)server.Sockets[0]).Port}");
    }

    private static async Task ServeAsync(List<Job> jobs, AioStreamReader reader, AioStreamWriter writer)
    {
        try
        {
            while (true)
            {
                string head = Encoding.ASCII.GetString(await reader.ReadUntilAsync("\r\n\r\n"u8.ToArray()));
                var target = new Uri(new Uri("http://local"), head.Split(' ')[1]);
                string? technology = target.Query.TrimStart('?').Split('&')
                    .Select(p => p.Split('=')).FirstOrDefault(p => p[0] == "technology" && p.Length == 2)?[1];
                await Sleep(Delay);
                (int status, byte[] body) = target.AbsolutePath == "/jobs"
                    ? (200, JsonSerializer.SerializeToUtf8Bytes(jobs.Where(j => technology is null || j.Technology == technology), JsonSerializerOptions.Web))
                    : (404, "{\"error\":\"not found\"}"u8.ToArray());
                writer.Write(Encoding.ASCII.GetBytes($"HTTP/1.1 {status} {(status == 200 ? "OK" : "Not Found")}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n"));
                writer.Write(body);
                await writer.DrainAsync();
            }
        }
        catch (Exception e) when (e is IncompleteReadError or IOException)
        {
            // the client closed its keep-alive connection, or gave up on an answer (a timeout)
        }
        finally
        {
            writer.Close();
        }
    }
}
