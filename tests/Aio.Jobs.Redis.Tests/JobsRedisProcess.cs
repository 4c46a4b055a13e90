using System.Diagnostics;

namespace Aio.Jobs.Redis.Tests;

/// <summary>examples/JobsRedis started as a real process against a private Redis (worker, producer or web mode).</summary>
internal static class JobsRedisProcess
{
    /// <summary>Starts <paramref name="mode"/> with the server's address, the queue and key prefix, and <paramref name="args"/>; stderr is drained.</summary>
    public static Process Start(RedisServer server, string queue, string prefix, string mode, params string[] args)
    {
        var info = new ProcessStartInfo(ExampleProgram.Dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(ExampleProgram.Find("JobsRedis"));
        info.ArgumentList.Add(mode);
        foreach (string a in (string[])["--redis", $"127.0.0.1:{server.Port}", "--queue", queue, "--prefix", prefix, .. args])
        {
            info.ArgumentList.Add(a);
        }
        Process p = Process.Start(info)!;
        p.ErrorDataReceived += (_, _) => { };
        p.BeginErrorReadLine();
        return p;
    }
}
