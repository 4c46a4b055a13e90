// The xunit v3 plumbing of [LoopFact] / [LoopTheory] (the v2 one is src/Aio.Testing.Xunit/LoopTestCases.cs). The
// discoverers let xunit make its usual test cases (display names, traits, skips, data rows) and re-type each as a
// loop test case, which runs itself (ISelfExecutingXunitTestCase) through xunit's own test case runner and test
// runner; only the call of the test method changes: LoopXunitTestRunner.InvokeTestMethod hands the method to
// LoopTestRunner (Aio.Testing), which runs it on a fresh loop and throws one AioTestFailureException for whatever
// should fail the test. Class construction, fixtures, before/after attributes, xunit's Timeout and the test's
// output (TestContext.Current.TestOutputHelper) are xunit's own.
using System.ComponentModel;
using System.Globalization;
using Xunit;
using Xunit.Sdk;
using Xunit.v3;

namespace Aio.Testing.Xunit;

/// <summary>Finds the test case of a <see cref="LoopFactAttribute"/> method.</summary>
internal sealed class LoopFactDiscoverer : FactDiscoverer
{
    protected override IXunitTestCase CreateTestCase(ITestFrameworkDiscoveryOptions discoveryOptions, IXunitTestMethod testMethod, IFactAttribute factAttribute) =>
        LoopTestCases.From(base.CreateTestCase(discoveryOptions, testMethod, factAttribute));
}

/// <summary>Finds the test cases of a <see cref="LoopTheoryAttribute"/> method: one per data row when the rows can be enumerated at discovery, else one for the whole theory.</summary>
internal sealed class LoopTheoryDiscoverer : TheoryDiscoverer
{
    protected override async ValueTask<IReadOnlyCollection<IXunitTestCase>> CreateTestCasesForDataRow(ITestFrameworkDiscoveryOptions discoveryOptions, IXunitTestMethod testMethod, ITheoryAttribute theoryAttribute, ITheoryDataRow dataRow, object?[] testMethodArguments) =>
        [.. (await base.CreateTestCasesForDataRow(discoveryOptions, testMethod, theoryAttribute, dataRow, testMethodArguments)).Select(LoopTestCases.From)];

    protected override async ValueTask<IReadOnlyCollection<IXunitTestCase>> CreateTestCasesForTheory(ITestFrameworkDiscoveryOptions discoveryOptions, IXunitTestMethod testMethod, ITheoryAttribute theoryAttribute) =>
        [.. (await base.CreateTestCasesForTheory(discoveryOptions, testMethod, theoryAttribute)).Select(LoopTestCases.From)];
}

/// <summary>A [LoopFact] test, or one data row of a [LoopTheory], or a skipped [LoopTheory].</summary>
internal sealed class LoopTestCase : XunitTestCase, ISelfExecutingXunitTestCase
{
    [EditorBrowsable(EditorBrowsableState.Never)]
    [Obsolete("Called by the de-serializer; should only be called by deriving classes for de-serialization purposes")]
    public LoopTestCase() { }

    public LoopTestCase(XunitTestCase c)
        : base(c.TestMethod, c.TestCaseDisplayName, c.UniqueID, c.Explicit, c.SkipExceptions, c.SkipReason, c.SkipType, c.SkipUnless, c.SkipWhen,
            c.Traits, c.TestMethodArguments, c.SourceFilePath, c.SourceLineNumber, c.Timeout) { }

    public ValueTask<RunSummary> Run(ExplicitOption explicitOption, IMessageBus messageBus, object?[] constructorArguments, ExceptionAggregator aggregator, CancellationTokenSource cancellationTokenSource) =>
        LoopTestCases.RunAsync(this, explicitOption, messageBus, constructorArguments, aggregator, cancellationTokenSource);
}

/// <summary>A [LoopTheory] whose data rows are enumerated at run time.</summary>
internal sealed class LoopTheoryTestCase : XunitDelayEnumeratedTheoryTestCase, ISelfExecutingXunitTestCase
{
    [EditorBrowsable(EditorBrowsableState.Never)]
    [Obsolete("Called by the de-serializer; should only be called by deriving classes for de-serialization purposes")]
    public LoopTheoryTestCase() { }

    public LoopTheoryTestCase(XunitDelayEnumeratedTheoryTestCase c)
        : base(c.TestMethod, c.TestCaseDisplayName, c.UniqueID, c.Explicit, c.SkipTestWithoutData, c.SkipExceptions, c.SkipReason, c.SkipType, c.SkipUnless,
            c.SkipWhen, c.Traits, c.SourceFilePath, c.SourceLineNumber, c.Timeout) { }

    public ValueTask<RunSummary> Run(ExplicitOption explicitOption, IMessageBus messageBus, object?[] constructorArguments, ExceptionAggregator aggregator, CancellationTokenSource cancellationTokenSource) =>
        LoopTestCases.RunAsync(this, explicitOption, messageBus, constructorArguments, aggregator, cancellationTokenSource);
}

internal static class LoopTestCases
{
    /// <summary>The loop flavour of a test case xunit's discoverer made; anything else (an error case) as it is.</summary>
    public static IXunitTestCase From(IXunitTestCase testCase) => testCase switch
    {
        LoopTestCase or LoopTheoryTestCase => testCase,
        XunitDelayEnumeratedTheoryTestCase theory => new LoopTheoryTestCase(theory),
        XunitTestCase plain when plain.GetType() == typeof(XunitTestCase) => new LoopTestCase(plain),
        _ => testCase,
    };

    /// <summary>
    /// What xunit's XunitRunnerHelper.RunXunitTestCase does for a plain test case, with <see cref="LoopTestCaseRunner"/>:
    /// make the tests (a run-time theory enumerates its data here), skip or fail the case if that threw, else run them.
    /// </summary>
    public static async ValueTask<RunSummary> RunAsync(IXunitTestCase testCase, ExplicitOption explicitOption, IMessageBus messageBus, object?[] constructorArguments, ExceptionAggregator aggregator, CancellationTokenSource cancellationTokenSource)
    {
        IReadOnlyCollection<IXunitTest> tests = await aggregator.RunAsync(testCase.CreateTests, []);
        if (aggregator.ToException() is { } e)
        {
            if (e.Message?.StartsWith(DynamicSkipToken.Value, StringComparison.Ordinal) == true)
            {
                return XunitRunnerHelper.SkipTestCases(messageBus, cancellationTokenSource, [testCase], e.Message[DynamicSkipToken.Value.Length..], sendTestCaseMessages: false);
            }
            if (testCase.SkipExceptions?.Contains(e.GetType()) == true)
            {
                string reason = string.IsNullOrEmpty(e.Message) ? string.Format(CultureInfo.InvariantCulture, "Exception of type '{0}' was thrown", e.GetType().FullName) : e.Message;
                return XunitRunnerHelper.SkipTestCases(messageBus, cancellationTokenSource, [testCase], reason, sendTestCaseMessages: false);
            }
            return XunitRunnerHelper.FailTestCases(messageBus, cancellationTokenSource, [testCase], e, sendTestCaseMessages: false);
        }
        return await LoopTestCaseRunner.Instance.Run(testCase, tests, messageBus, aggregator, cancellationTokenSource, testCase.TestCaseDisplayName,
            testCase.SkipReason, explicitOption, constructorArguments);
    }
}

/// <summary>xunit's test case runner, running each test with <see cref="LoopXunitTestRunner"/>.</summary>
internal sealed class LoopTestCaseRunner : XunitTestCaseRunner
{
    public static new LoopTestCaseRunner Instance { get; } = new();

    protected override ValueTask<RunSummary> RunTest(XunitTestCaseRunnerContext ctxt, IXunitTest test)
    {
        ArgumentNullException.ThrowIfNull(ctxt);
        return LoopXunitTestRunner.Instance.Run(test, ctxt.MessageBus, ctxt.ConstructorArguments, ctxt.ExplicitOption, ctxt.Aggregator.Clone(),
            ctxt.CancellationTokenSource, ctxt.BeforeAfterTestAttributes);
    }
}

/// <summary>xunit's test runner, calling the test method through <see cref="LoopTestRunner.RunMethod"/> (<see cref="LoopTestMethods"/>) instead of directly.</summary>
internal sealed class LoopXunitTestRunner : XunitTestRunner
{
    public static new LoopXunitTestRunner Instance { get; } = new();

    protected override object? InvokeTestMethod(XunitTestRunnerContext ctxt, object? testClassInstance)
    {
        ArgumentNullException.ThrowIfNull(ctxt);
        ITestOutputHelper? output = TestContext.Current.TestOutputHelper;   // xunit makes one per test
        LoopTestMethods.Run(ctxt.TestMethod, testClassInstance, ctxt.TestMethodArguments, output is null ? null : output.WriteLine);
        return null;
    }
}
