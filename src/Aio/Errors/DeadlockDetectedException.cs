namespace Aio;

/// <summary>
/// Thrown out of <see cref="EventLoop.RunUntilComplete(Func{Task})"/> / <see cref="EventLoop.RunForever"/> by the
/// hang detector (<see cref="EventLoop.HangDetection"/>): tasks are pending but nothing can ever wake them.
/// <see cref="Report"/> lists each pending task, what it waits on, and who holds that.
/// </summary>
public sealed class DeadlockDetectedException : InvalidOperationException
{
    /// <summary>Creates the exception with an empty report.</summary>
    public DeadlockDetectedException() : this("") { }

    /// <summary>Creates the exception with <paramref name="report"/> as its message and report.</summary>
    public DeadlockDetectedException(string report) : base(report) => Report = report;

    /// <summary>Creates the exception with <paramref name="report"/> and the exception that caused it.</summary>
    public DeadlockDetectedException(string report, Exception innerException) : base(report, innerException) => Report = report;

    /// <summary>The text of the report (the same as <see cref="EventLoop.DumpTasks"/> at the moment of detection).</summary>
    public string Report { get; }
}
