namespace Aio.Os;

/// <summary>How <see cref="Asyncio.CreateSubprocessExecAsync"/> and <see cref="Asyncio.CreateSubprocessShellAsync"/> start a child.</summary>
public sealed class ProcessOptions
{
    /// <summary>The child's standard input. Default <see cref="ProcessStdio.Inherit"/>, as asyncio.</summary>
    public ProcessStdio Stdin { get; init; } = ProcessStdio.Inherit;

    /// <summary>The child's standard output. Default <see cref="ProcessStdio.Inherit"/>, as asyncio.</summary>
    public ProcessStdio Stdout { get; init; } = ProcessStdio.Inherit;

    /// <summary>The child's standard error; <see cref="ProcessStdio.Stdout"/> merges it into standard output. Default <see cref="ProcessStdio.Inherit"/>.</summary>
    public ProcessStdio Stderr { get; init; } = ProcessStdio.Inherit;

    /// <summary>The child's working directory; null keeps the parent's.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>
    /// Environment variables set (or, with a null value, removed) for the child, on top of the parent's environment.
    /// Null passes the parent's environment unchanged. A changed <c>PATH</c> is also where the program is looked up.
    /// </summary>
    public IReadOnlyDictionary<string, string?>? Environment { get; init; }

    /// <summary>
    /// Seconds between SIGTERM and SIGKILL when the scope that started the child is cancelled while the child runs.
    /// Default 5. The child is always reaped: no zombie is left behind.
    /// </summary>
    public double TerminateGracePeriod { get; init; } = 5;

    /// <summary>
    /// Per-pipe buffer limit in bytes: a reader stops taking data from the pipe once twice this much is buffered and
    /// unread, so a fast child is slowed down by the pipe instead of filling memory. Default 64 KiB, as asyncio.
    /// </summary>
    public int Limit { get; init; } = 64 * 1024;

    /// <summary>Pipes for all three streams: what <see cref="AioProcess.CommunicateAsync"/> needs.</summary>
    public static ProcessOptions AllPipes => new() { Stdin = ProcessStdio.Pipe, Stdout = ProcessStdio.Pipe, Stderr = ProcessStdio.Pipe };
}
