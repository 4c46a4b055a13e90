using Aio.Internal;
using Aio.Polling;
using Microsoft.Extensions.Logging.Abstractions;
using System.Diagnostics;

namespace Aio;

public sealed partial class EventLoop
{
    private readonly List<WeakReference<UnretrievedTracker>> _unretrieved = new();
    private int _unreportedCount;   // trackers neither retrieved nor reported yet (finalizers decrement it on their thread)
    // A faulted future's tracker lives exactly as long as the future (its finalizer reports an exception never retrieved).
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<AioFuture, UnretrievedTracker> _trackers = new();
    private Action<EventLoop, ExceptionContext>? _exceptionHandler;
    private double _slowCallbackDuration = 0.1;

    /// <summary>
    /// Debug mode: slow callbacks are logged, and (in the primitives) hangs are diagnosed. Defaults to
    /// true when the environment variable <c>AIO_DEBUG</c> is <c>1</c>.
    /// </summary>
    public bool Debug { get; set; }

    /// <summary>In debug mode, a callback or task step running longer than this many seconds is logged. Default 0.1.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative or NaN.</exception>
    public double SlowCallbackDuration
    {
        get => _slowCallbackDuration;
        set => _slowCallbackDuration = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Pass 0 or more seconds.");
    }

    /// <summary>
    /// Receives errors nobody else can: a failing callback, a task exception never retrieved, an error during
    /// shutdown. Null (the default) uses <see cref="DefaultExceptionHandler"/>. A handler that throws is
    /// logged, never propagated: the loop goes on.
    /// </summary>
    public Action<EventLoop, ExceptionContext>? ExceptionHandler
    {
        get => _exceptionHandler;
        set
        {
            CheckThread(nameof(ExceptionHandler));
            _exceptionHandler = value;
        }
    }

    /// <summary>Passes <paramref name="context"/> to the exception handler (or the default one); never throws.</summary>
    public void CallExceptionHandler(ExceptionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Action<EventLoop, ExceptionContext>? handler = _exceptionHandler;
        if (handler is null)
        {
            DefaultExceptionHandler(context);
            return;
        }
        try
        {
            handler(this, context);
        }
        catch (Exception e)
        {
            try
            {
                if (Logger is NullLogger)
                {
                    Console.Error.WriteLine($"Aio: unhandled error in the exception handler while handling: {context}\n{e}");
                }
                else
                {
                    LoopLog.HandlerFailed(Logger, context.Message, e);
                }
            }
            catch (Exception)
            {
                // Logging failed too; there is nobody left to tell.
            }
        }
    }

    /// <summary>The default handler: logs the context through <see cref="Logger"/>, or to standard error when no logger is set.</summary>
    public void DefaultExceptionHandler(ExceptionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        try
        {
            if (Logger is NullLogger)
            {
                Console.Error.WriteLine($"Aio: {context}");
            }
            else
            {
                LoopLog.UnhandledError(Logger, context.Message, context.Exception);
            }
        }
        catch (Exception)
        {
            // A broken logger must not stop the loop.
        }
    }

    private void ReportCallbackException(in ReadyItem item, Exception e)
    {
        string name = DescribeItem(in item);
        CallExceptionHandler(new ExceptionContext
        {
            Message = $"Exception in callback {name}",
            Exception = e,
            Handle = item.Kind switch
            {
                ReadyKind.CallSoon or ReadyKind.CallSoonState => CurrentTurnHandle((Delegate)item.Callback!),
                ReadyKind.Handle when item.State is HandleBox box => new Handle(box),
                _ => null,
            },
            Source = item.State as TimerHandle,
            Future = item.Task,
        });
    }

    private static string DescribeItem(in ReadyItem item)
    {
        if (item.Task is not null)
        {
            return $"step of {item.Task}";
        }
        return item.Kind switch
        {
            ReadyKind.Handle => DescribeCallback(((IScheduledCallback)item.State!).Callback),
            _ when item.Callback is Delegate d => DescribeCallback(d),
            _ => item.Callback?.GetType().Name ?? "callback",
        };
    }

    private void RunItemTimed(in ReadyItem item)
    {
        long start = Stopwatch.GetTimestamp();
        RunItem(in item);
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        if (seconds >= _slowCallbackDuration)
        {
            string name = DescribeItem(in item);
            if (Logger is NullLogger)
            {
                Console.Error.WriteLine($"Aio: executing {name} took {seconds:0.000} seconds");
            }
            else
            {
                LoopLog.SlowCallback(Logger, name, seconds);
            }
        }
    }

    private void OnPollerHandlerError(Exception e, IIoHandler handler) =>
        CallExceptionHandler(new ExceptionContext { Message = $"Exception in I/O handler {handler}", Exception = e, Source = handler });

    internal void TrackUnretrieved(AioFuture future, Exception error)
    {
        var tracker = UnretrievedTracker.Create(this, future, error);
        Interlocked.Increment(ref _unreportedCount);
        _trackers.AddOrUpdate(future, tracker);
        if (_unretrieved.Count > 256)
        {
            _unretrieved.RemoveAll(w => !w.TryGetTarget(out UnretrievedTracker? t) || !t.Pending);
        }
        _unretrieved.Add(new WeakReference<UnretrievedTracker>(tracker));
    }

    internal void MarkRetrieved(AioFuture future)
    {
        if (_trackers.TryGetValue(future, out UnretrievedTracker? tracker))
        {
            tracker.MarkRetrieved();
            _trackers.Remove(future);
        }
    }

    /// <summary>A tracker was retrieved or reported (any thread: finalizers too).</summary>
    internal void OnTrackerDone() => Interlocked.Decrement(ref _unreportedCount);

    /// <summary>Whether a future of this loop failed and its exception was neither retrieved nor reported yet.</summary>
    internal bool HasUnreportedExceptions => Volatile.Read(ref _unreportedCount) > 0;

    /// <summary>Called from a tracker's finalizer (any thread): reports on the loop thread.</summary>
    internal void PostExceptionReport(ExceptionContext context)
    {
        TryPostItem(new ReadyItem
        {
            Kind = ReadyKind.Action,
            Callback = (Action<object?>)(static s => { var (loop, ctx) = ((EventLoop, ExceptionContext))s!; loop.CallExceptionHandler(ctx); }),
            State = (this, context),
        });
    }

    /// <summary>At close: report tasks still pending and exceptions nobody retrieved.</summary>
    private void ReportLeaksAtClose()
    {
        if (_liveCount > 0)
        {
            var names = new List<string>();
            for (AioTask? t = _liveHead; t is not null; t = t._nextLive)
            {
                names.Add(t.ToString());
            }
            CallExceptionHandler(new ExceptionContext
            {
                Message = $"Loop closed with {names.Count} pending task(s): {string.Join(", ", names)}",
                Source = this,
            });
        }
        foreach (WeakReference<UnretrievedTracker> w in _unretrieved)
        {
            if (w.TryGetTarget(out UnretrievedTracker? tracker) && tracker.TryReport(out ExceptionContext context))
            {
                CallExceptionHandler(context);
            }
        }
        _unretrieved.Clear();
    }

    private static bool DebugFromEnvironment() =>
        Environment.GetEnvironmentVariable("AIO_DEBUG") is "1" or "true" or "True";
}
