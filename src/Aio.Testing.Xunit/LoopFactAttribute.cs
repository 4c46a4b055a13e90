using Xunit;
using Xunit.Sdk;

namespace Aio.Testing.Xunit;

/// <summary>
/// An xunit fact that runs the test method as the main task of a fresh Aio event loop (a
/// <see cref="VirtualClock"/> with autojump unless <see cref="RealTime"/>). The method may return
/// <see cref="AioTask"/>, <see cref="Task"/>, <see cref="ValueTask"/> or nothing. The test fails when the method
/// returns with tasks still pending, when an error reaches the loop's exception handler (a task exception nobody
/// retrieved, a failing callback), when the loop's hang detector finds that no task can ever wake, or when it runs
/// past <see cref="LoopTimeout"/> seconds of loop time. The loop's log and every error it reports go to the test's
/// output (<c>ITestOutputHelper</c>). See <see cref="LoopTestRunner"/>, which does the work.
/// </summary>
[XunitTestCaseDiscoverer("Aio.Testing.Xunit.LoopFactDiscoverer", "Aio.Testing.Xunit")]
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class LoopFactAttribute : FactAttribute
{
    /// <summary>Run on the real monotonic clock instead of virtual time (false by default). Use it when the test waits for real I/O or other threads.</summary>
    public bool RealTime { get; set; }

    /// <summary>The test's deadline in seconds of loop time (virtual unless <see cref="RealTime"/>); 60 by default; 0 for none.</summary>
    public double LoopTimeout { get; set; } = 60;

    /// <summary>Fail the test with the hang detector's report when no task can ever wake (true by default).</summary>
    public bool HangDetection { get; set; } = true;

    /// <summary>The I/O back end (<c>"epoll"</c>, <c>"portable"</c>, ...), or null for the platform's default.</summary>
    public string? Poller { get; set; }
}

/// <summary>
/// An xunit theory whose every data row runs like a <see cref="LoopFactAttribute"/> test: as the main task of a fresh
/// Aio event loop, failing on leaked tasks, unobserved errors, hangs and timeouts in loop time.
/// </summary>
[XunitTestCaseDiscoverer("Aio.Testing.Xunit.LoopTheoryDiscoverer", "Aio.Testing.Xunit")]
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class LoopTheoryAttribute : TheoryAttribute
{
    /// <inheritdoc cref="LoopFactAttribute.RealTime"/>
    public bool RealTime { get; set; }

    /// <inheritdoc cref="LoopFactAttribute.LoopTimeout"/>
    public double LoopTimeout { get; set; } = 60;

    /// <inheritdoc cref="LoopFactAttribute.HangDetection"/>
    public bool HangDetection { get; set; } = true;

    /// <inheritdoc cref="LoopFactAttribute.Poller"/>
    public string? Poller { get; set; }
}
