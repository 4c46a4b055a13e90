namespace Aio;

/// <summary>
/// Thrown into a task when the cancel scope it runs in is cancelled (asyncio's <c>CancelledError</c>).
/// </summary>
/// <remarks>
/// Cancellation in Aio is level-triggered: once a scope is cancelled, every later Aio await
/// inside it throws this again until the scope is left. Catch it only to clean up, then let it
/// propagate: <c>catch (Exception e) when (e is not OperationCanceledException)</c> is the
/// idiom for "catch everything but cancellation".
/// </remarks>
public class CancelledError : OperationCanceledException
{
    /// <summary>Creates a cancellation error with the default message.</summary>
    public CancelledError() : base("The task was cancelled.") { }

    /// <summary>Creates a cancellation error with the message given to <c>Cancel(msg)</c>.</summary>
    public CancelledError(string? message) : base(message ?? "The task was cancelled.") { }

    /// <summary>Creates a cancellation error that wraps another exception.</summary>
    public CancelledError(string? message, Exception? innerException)
        : base(message ?? "The task was cancelled.", innerException) { }
}

/// <summary>An operation was attempted on a future or task in the wrong state (asyncio's <c>InvalidStateError</c>).</summary>
public class InvalidStateError : InvalidOperationException
{
    /// <summary>Creates the error with a default message.</summary>
    public InvalidStateError() : base("The future is in the wrong state for this operation.") { }

    /// <summary>Creates the error with a message.</summary>
    public InvalidStateError(string message) : base(message) { }

    /// <summary>Creates the error with a message and an inner exception.</summary>
    public InvalidStateError(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>
/// Thrown by <see cref="Asyncio.Run(Func{Task}, bool?)"/> and <see cref="Runner"/> when the program
/// was interrupted by Ctrl+C (SIGINT) or SIGTERM. A program that catches it should exit with
/// <see cref="ProcessExitCode"/> (130 for SIGINT, 143 for SIGTERM); one that does not is ended with that
/// code and a one-line message on standard error, without a crash report.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1710:Identifiers should have correct suffix", Justification = "asyncio's name, kept on purpose.")]
public class KeyboardInterrupt : Exception
{
    /// <summary>The conventional exit code of a program stopped by SIGINT: 128 + 2.</summary>
    public const int ExitCode = 130;

    /// <summary>The conventional exit code of a program stopped by SIGTERM: 128 + 15.</summary>
    public const int TerminatedExitCode = 143;

    /// <summary>Creates the error with the default message.</summary>
    public KeyboardInterrupt() : base("The program was interrupted (SIGINT/SIGTERM).") { }

    /// <summary>Creates the error for <paramref name="signal"/> (SIGINT or SIGTERM), with a message naming it.</summary>
    public KeyboardInterrupt(System.Runtime.InteropServices.PosixSignal signal)
        : base(signal == System.Runtime.InteropServices.PosixSignal.SIGTERM
            ? "The program was terminated by SIGTERM."
            : "The program was interrupted by SIGINT (Ctrl+C).")
    {
        Signal = signal;
    }

    /// <summary>Creates the error with a message.</summary>
    public KeyboardInterrupt(string message) : base(message) { }

    /// <summary>Creates the error with a message and an inner exception.</summary>
    public KeyboardInterrupt(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>The signal that interrupted the program; null when the error was created without one.</summary>
    public System.Runtime.InteropServices.PosixSignal? Signal { get; }

    /// <summary>The exit code a program interrupted this way ends with: 143 for SIGTERM, else 130 (<see cref="ExitCode"/>).</summary>
    public int ProcessExitCode => Signal == System.Runtime.InteropServices.PosixSignal.SIGTERM ? TerminatedExitCode : ExitCode;
}
