using Aio.Internal;
using System.Runtime.InteropServices;

namespace Aio;

public sealed partial class EventLoop
{
    private Dictionary<PosixSignal, SignalHandlerEntry>? _signalHandlers;   // loop thread only; null until the first handler

    /// <summary>
    /// Runs <paramref name="callback"/> on the loop thread whenever the process receives <paramref name="signal"/>
    /// (asyncio's <c>add_signal_handler</c>); replaces this loop's earlier handler for the same signal. The
    /// signal's default action (ending the process for SIGINT, SIGTERM, SIGUSR1…) no longer happens while the handler is
    /// installed. The callback runs like a <see cref="CallSoon(Action)"/> callback, never in signal context; an
    /// exception it throws goes to the exception handler. Handlers are removed when the loop closes.
    /// </summary>
    /// <param name="signal">A <see cref="PosixSignal"/>, or a raw Unix signal number cast to it (<c>(PosixSignal)10</c> is SIGUSR1 on Linux).</param>
    /// <param name="callback">What to run on the loop.</param>
    /// <exception cref="ArgumentException">The signal cannot be caught (SIGKILL, SIGSTOP).</exception>
    /// <exception cref="PlatformNotSupportedException">The platform cannot deliver this signal to .NET code.</exception>
    public void AddSignalHandler(PosixSignal signal, Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        AddSignalHandlerCore(signal, callback, null);
    }

    /// <summary>
    /// Removes this loop's handler for <paramref name="signal"/> and restores the signal's default action;
    /// returns false if there was none (asyncio's <c>remove_signal_handler</c>).
    /// </summary>
    public bool RemoveSignalHandler(PosixSignal signal)
    {
        CheckThread(nameof(RemoveSignalHandler));
        if (_signalHandlers is null || !_signalHandlers.Remove(signal, out SignalHandlerEntry? entry))
        {
            return false;
        }
        entry.Dispose();
        return true;
    }

    /// <summary>True if this loop has a handler for <paramref name="signal"/>.</summary>
    internal bool HasSignalHandler(PosixSignal signal) => _signalHandlers?.ContainsKey(signal) == true;

    /// <summary>
    /// Installs a handler; <paramref name="onSignalThread"/>, when given, runs first on the runtime's signal thread
    /// and may return false to let the signal's default action happen instead (the runner's "second Ctrl+C ends the
    /// process", which must work even when the loop is stuck).
    /// </summary>
    internal void AddSignalHandlerCore(PosixSignal signal, Action callback, Func<bool>? onSignalThread)
    {
        CheckThread(nameof(AddSignalHandler));
        CheckClosed(nameof(AddSignalHandler));
        if ((int)signal is ProcessLibCSignals.SIGKILL or ProcessLibCSignals.SIGSTOP)
        {
            ThrowHelper.UncatchableSignal(signal);
        }
        var entry = new SignalHandlerEntry(this, callback, onSignalThread);
        try
        {
            entry.Registration = PosixSignalRegistration.Create(signal, entry.OnSignal);
        }
        catch (Exception e) when (e is PlatformNotSupportedException or IOException or UnauthorizedAccessException or ArgumentOutOfRangeException)
        {
            ThrowHelper.SignalsNotSupported(signal, e);
        }
        if (_signalHandlers is null)
        {
            _signalHandlers = new Dictionary<PosixSignal, SignalHandlerEntry>();
            OnClosed += DisposeSignalHandlers;
        }
        if (_signalHandlers.Remove(signal, out SignalHandlerEntry? old))
        {
            old.Dispose();
        }
        _signalHandlers[signal] = entry;
    }

    private void DisposeSignalHandlers()
    {
        if (_signalHandlers is null)
        {
            return;
        }
        foreach (SignalHandlerEntry entry in _signalHandlers.Values)
        {
            entry.Dispose();
        }
        _signalHandlers.Clear();
    }

    /// <summary>One installed handler: the runtime registration and the callback it posts to the loop.</summary>
    private sealed class SignalHandlerEntry(EventLoop loop, Action callback, Func<bool>? onSignalThread) : IDisposable
    {
        private volatile bool _disposed;

        public PosixSignalRegistration? Registration { get; set; }

        /// <summary>Runs on the runtime's signal-handling thread.</summary>
        public void OnSignal(PosixSignalContext context)
        {
            if (_disposed || (onSignalThread is not null && !onSignalThread()))
            {
                return;
            }
            context.Cancel = true;
            // A Handle, so a failing callback is reported under its own name.
            loop.TryPostItem(new ReadyItem { Kind = ReadyKind.Handle, State = new HandleBox(loop, callback) });
        }

        public void Dispose()
        {
            _disposed = true;
            Registration?.Dispose();
        }
    }
}

/// <summary>Linux signal numbers the loop needs without the Linux-only interop class.</summary>
internal static class ProcessLibCSignals
{
    public const int SIGKILL = 9;
    public const int SIGUSR1 = 10;
    public const int SIGUSR2 = 12;
    public const int SIGSTOP = 19;
}
