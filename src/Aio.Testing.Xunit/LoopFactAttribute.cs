// [LoopFact] / [LoopTheory] for xunit v2 (this project, Aio.Testing.Xunit) and xunit v3 (Aio.Testing.Xunit.V3 links
// this file and defines XUNIT_V3). The attributes and the mapping of their properties to LoopTestOptions are the
// same for both; only the way xunit finds the discoverer differs (v2 names it by strings, v3 by type), and v3's
// FactAttribute records the attribute's source location through its constructor.
using System.Reflection;
#if XUNIT_V3
using System.Runtime.CompilerServices;
using Xunit;
using Xunit.v3;
#else
using Xunit;
using Xunit.Sdk;
#endif

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
#if XUNIT_V3
[XunitTestCaseDiscoverer(typeof(LoopFactDiscoverer))]
#else
[XunitTestCaseDiscoverer("Aio.Testing.Xunit.LoopFactDiscoverer", "Aio.Testing.Xunit")]
#endif
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class LoopFactAttribute : FactAttribute
{
#if XUNIT_V3
    /// <summary>Creates the attribute; the compiler fills in where it stands (xunit v3 reports it with the test).</summary>
    public LoopFactAttribute([CallerFilePath] string? sourceFilePath = null, [CallerLineNumber] int sourceLineNumber = -1)
        : base(sourceFilePath, sourceLineNumber)
    {
    }
#endif

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
#if XUNIT_V3
[XunitTestCaseDiscoverer(typeof(LoopTheoryDiscoverer))]
#else
[XunitTestCaseDiscoverer("Aio.Testing.Xunit.LoopTheoryDiscoverer", "Aio.Testing.Xunit")]
#endif
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class LoopTheoryAttribute : TheoryAttribute
{
#if XUNIT_V3
    /// <summary>Creates the attribute; the compiler fills in where it stands (xunit v3 reports it with the test).</summary>
    public LoopTheoryAttribute([CallerFilePath] string? sourceFilePath = null, [CallerLineNumber] int sourceLineNumber = -1)
        : base(sourceFilePath, sourceLineNumber)
    {
    }
#endif

    /// <inheritdoc cref="LoopFactAttribute.RealTime"/>
    public bool RealTime { get; set; }

    /// <inheritdoc cref="LoopFactAttribute.LoopTimeout"/>
    public double LoopTimeout { get; set; } = 60;

    /// <inheritdoc cref="LoopFactAttribute.HangDetection"/>
    public bool HangDetection { get; set; } = true;

    /// <inheritdoc cref="LoopFactAttribute.Poller"/>
    public string? Poller { get; set; }
}

/// <summary>What both adapters hand to <see cref="LoopTestRunner"/>.</summary>
internal static class LoopTestMethods
{
    /// <summary>
    /// Runs <paramref name="method"/> through <see cref="LoopTestRunner.RunMethod"/> with the options of its
    /// [LoopFact] / [LoopTheory], writing the loop's lines to <paramref name="output"/> (the test's output helper).
    /// </summary>
    public static void Run(MethodInfo method, object? instance, object?[]? arguments, Action<string>? output)
    {
        LoopTestOptions options = OptionsOf(method);
        options.Output = output;
        LoopTestRunner.RunMethod(method, instance, arguments, options);
    }

    private static LoopTestOptions OptionsOf(MethodInfo method) => method.GetCustomAttribute<LoopFactAttribute>() is { } fact
        ? new LoopTestOptions { RealTime = fact.RealTime, Timeout = fact.LoopTimeout, HangDetection = fact.HangDetection, Poller = fact.Poller }
        : method.GetCustomAttribute<LoopTheoryAttribute>() is { } theory
            ? new LoopTestOptions { RealTime = theory.RealTime, Timeout = theory.LoopTimeout, HangDetection = theory.HangDetection, Poller = theory.Poller }
            : new LoopTestOptions();
}
