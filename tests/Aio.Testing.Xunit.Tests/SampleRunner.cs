using System.Reflection;
using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Aio.Testing.Xunit.Tests;

/// <summary>What xunit reported for one test case of a sample: its display name, outcome, failure and output.</summary>
public sealed record SampleResult(string DisplayName, string Outcome, string? ExceptionType, string? Message, string Output, decimal Seconds);

/// <summary>
/// Runs the test cases of one sample method the way xunit does: the discoverer named by the method's attribute
/// (its [XunitTestCaseDiscoverer]) makes the test cases, and each runs through its own RunAsync with a message bus
/// that records what xunit would report. The samples are internal classes, so xunit itself never discovers them.
/// </summary>
public static class SampleRunner
{
    public static async Task<List<SampleResult>> RunAsync(Type sampleClass, string method)
    {
        var sink = new NullSink();
        var testClass = new TestClass(new TestCollection(new TestAssembly(Reflector.Wrap(sampleClass.Assembly)), null, "samples"), Reflector.Wrap(sampleClass));
        MethodInfo info = sampleClass.GetMethod(method, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static)
            ?? throw new ArgumentException($"{sampleClass.Name} has no method {method}.", nameof(method));
        var testMethod = new TestMethod(testClass, Reflector.Wrap(info));
        IAttributeInfo fact = testMethod.Method.GetCustomAttributes(typeof(FactAttribute)).Single();
        List<object> discovererArgs = fact.GetCustomAttributes(typeof(XunitTestCaseDiscovererAttribute)).Single().GetConstructorArguments().ToList();
        string discovererName = $"{discovererArgs[0]}, {discovererArgs[1]}";
        var discoverer = (IXunitTestCaseDiscoverer)Activator.CreateInstance(Type.GetType(discovererName, throwOnError: true)!, sink)!;

        var bus = new RecordingBus();
        foreach (IXunitTestCase testCase in discoverer.Discover(new DiscoveryOptions(), testMethod, fact))
        {
            // What xunit's class runner passes for a constructor's ITestOutputHelper: a factory of one helper per test.
            object[] constructorArguments = sampleClass.GetConstructors().Single().GetParameters().Length == 1 ? [(Func<TestOutputHelper>)(() => new TestOutputHelper())] : [];
            await testCase.RunAsync(sink, bus, constructorArguments, new ExceptionAggregator(), new CancellationTokenSource());
        }
        return bus.Results;
    }

    public static async Task<SampleResult> RunOneAsync(Type sampleClass, string method) => (await RunAsync(sampleClass, method)).Single();

    private sealed class DiscoveryOptions : ITestFrameworkDiscoveryOptions
    {
        public TValue GetValue<TValue>(string name) => default!;

        public void SetValue<TValue>(string name, TValue value) { }
    }

    private sealed class NullSink : IMessageSink
    {
        public bool OnMessage(IMessageSinkMessage message) => true;
    }

    private sealed class RecordingBus : IMessageBus
    {
        public List<SampleResult> Results { get; } = [];

        public bool QueueMessage(IMessageSinkMessage message)
        {
            switch (message)
            {
                case ITestPassed p:
                    Results.Add(new SampleResult(p.Test.DisplayName, "Passed", null, null, p.Output, p.ExecutionTime));
                    break;
                case ITestFailed f:
                    Results.Add(new SampleResult(f.Test.DisplayName, "Failed", f.ExceptionTypes[0], f.Messages[0], f.Output, f.ExecutionTime));
                    break;
                case ITestSkipped s:
                    Results.Add(new SampleResult(s.Test.DisplayName, "Skipped", null, s.Reason, s.Output, 0));
                    break;
            }
            return true;
        }

        public void Dispose() { }
    }
}
