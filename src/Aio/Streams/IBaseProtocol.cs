namespace Aio.Net;

/// <summary>
/// What every stream protocol receives from its transport (asyncio's <c>BaseProtocol</c>): the connection
/// starting and ending, and write flow control.
/// </summary>
/// <remarks>
/// <para>Call order, exactly: <see cref="ConnectionMade"/> once, then the data callbacks of
/// <see cref="IProtocol"/> or <see cref="IBufferedProtocol"/> (with <see cref="PauseWriting"/> and
/// <see cref="ResumeWriting"/> in between, alternating), then at most one <c>EofReceived</c>, then
/// <see cref="ConnectionLost"/> exactly once.</para>
/// <para>Every call happens on the loop thread. An exception thrown by a callback is reported to the loop's
/// exception handler and the connection is aborted (<see cref="ConnectionLost"/> gets that exception); the
/// loop goes on.</para>
/// </remarks>
public interface IBaseProtocol
{
    /// <summary>The connection is up; keep <paramref name="transport"/> to write and to close it.</summary>
    void ConnectionMade(ITransport transport);

    /// <summary>
    /// The connection is closed: <paramref name="exception"/> is null after a regular close or EOF, or the
    /// error that ended it (a reset by the peer, a protocol callback that threw). Called exactly once.
    /// </summary>
    void ConnectionLost(Exception? exception);

    /// <summary>The transport's write buffer went over its high-water mark: stop writing until <see cref="ResumeWriting"/>. Default: nothing.</summary>
    void PauseWriting()
    {
    }

    /// <summary>The transport's write buffer drained to its low-water mark: writing may go on. Default: nothing.</summary>
    void ResumeWriting()
    {
    }
}
