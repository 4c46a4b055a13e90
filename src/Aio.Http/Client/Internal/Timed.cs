// Timed: how the client awaits HttpClient on the loop.
//
// Design note. Every await of a foreign Task (SocketsHttpHandler's send, a read of the response stream) is made with
// the ambient cancel scope's token, Asyncio.CurrentToken, so a cancelled task or an enclosing FailAfter aborts the
// operation inside the handler (which then disposes the connection) and the await ends promptly. The await itself is
// not wrapped in Asyncio.Cancellable on purpose: the call returns only once the handler has let go of the operation,
// so "cancelled" also means "connection freed" — no work is left behind the cancellation.
// The client's own limits (ClientTimeout) are cancel scopes with a deadline on the loop's clock, entered around the
// foreign await: the scope's token is what reaches the handler, and an idle limit moves the deadline after each chunk
// (one scope per operation, not per chunk). So the limits follow a virtual clock in tests like every Aio timeout.
// A foreign await that ends with an OperationCanceledException (or any error) while the scope chain is cancelled is
// turned into the CancelledError of that cancellation (Checkpoint.ThrowIfCancelled marks it delivered): our own scope
// then catches its own cancellation and we throw ClientTimeoutException; an enclosing scope's passes through.
using Aio.LowLevel;

namespace Aio.Http.Client.Internal;

/// <summary>A cancel scope with a total deadline and an idle limit whose deadline the operation moves after each chunk.</summary>
internal sealed class IdleDeadline
{
    private readonly EventLoop _loop;
    private readonly double? _total;     // absolute loop time, null: none
    private readonly double? _idle;      // seconds, null: none
    public readonly CancelScope Scope;

    public IdleDeadline(EventLoop loop, double? total, double? idle)
    {
        _loop = loop;
        _total = total;
        _idle = idle;
        Scope = new CancelScope(Next());
    }

    /// <summary>The deadline from now: the earlier of the total deadline and now plus the idle limit.</summary>
    private double? Next()
    {
        double? idle = _idle is double i ? _loop.Time() + i : null;
        return (_total, idle) switch
        {
            (double t, double d) => Math.Min(t, d),
            (double t, null) => t,
            (null, double d) => d,
            _ => null,
        };
    }

    /// <summary>Data arrived: the idle limit starts again.</summary>
    public void Touch()
    {
        if (_idle is not null)
        {
            Scope.Deadline = Next();
        }
    }

    /// <summary>Which limit fired: the total one when the scope's deadline had reached it.</summary>
    public ClientTimeoutKind FiredKind =>
        _total is double t && Scope.Deadline is double d && d >= t ? ClientTimeoutKind.Total : ClientTimeoutKind.Read;
}

internal static class Timed
{
    /// <summary>
    /// Runs a foreign operation with the ambient token inside a scope with the given limits. Returns its value, or throws
    /// <see cref="ClientTimeoutException"/> (from <paramref name="timeout"/>) when a limit fired, or
    /// <see cref="CancelledError"/> when an enclosing scope was cancelled.
    /// </summary>
    public static async Task<T> RunAsync<T>(EventLoop loop, double? total, double? idle,
        Func<IdleDeadline?, CancellationToken, Task<T>> operation, Func<ClientTimeoutKind, Exception> timeout)
    {
        if (total is null && idle is null)
        {
            return await ForeignAsync(operation, null);
        }
        var deadline = new IdleDeadline(loop, total, idle);
        T result = default!;
        bool finished = false;
        await deadline.Scope.RunAsync(async () =>
        {
            result = await ForeignAsync(operation, deadline);
            finished = true;
        });
        if (!finished)
        {
            // RunAsync returns normally without the body finishing only when our own deadline cancelled it.
            throw timeout(deadline.FiredKind);
        }
        return result;
    }

    private static async Task<T> ForeignAsync<T>(Func<IdleDeadline?, CancellationToken, Task<T>> operation, IdleDeadline? deadline)
    {
        try
        {
            return await operation(deadline, Asyncio.CurrentToken);
        }
        catch (Exception e) when (e is not CancelledError && Checkpoint.IsCancelled)
        {
            // The handler ended the operation because our token was cancelled (usually an OperationCanceledException,
            // sometimes the IOException of the connection it disposed): report the cancellation itself.
            Checkpoint.ThrowIfCancelled();
            throw;
        }
    }
}
