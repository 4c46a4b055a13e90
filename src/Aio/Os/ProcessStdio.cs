namespace Aio.Os;

/// <summary>What a subprocess's standard stream is connected to (asyncio's <c>PIPE</c>, <c>None</c>, <c>DEVNULL</c>, <c>STDOUT</c>).</summary>
public enum ProcessStdio
{
    /// <summary>The parent's own stream (asyncio's <c>None</c>): the child writes to our console.</summary>
    Inherit,

    /// <summary>A pipe to the parent: <see cref="AioProcess.Stdin"/>, <see cref="AioProcess.Stdout"/> or <see cref="AioProcess.Stderr"/>.</summary>
    Pipe,

    /// <summary><c>/dev/null</c> (asyncio's <c>DEVNULL</c>): reads see EOF, writes are discarded.</summary>
    Null,

    /// <summary>For <see cref="ProcessOptions.Stderr"/> only: standard error goes wherever standard output goes (asyncio's <c>STDOUT</c>).</summary>
    Stdout,
}
