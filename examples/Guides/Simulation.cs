using System.Text;
using Aio;
using Aio.Net;
using Aio.Testing;
using static Aio.Asyncio;

namespace Aio.Examples.Guides;

/// <summary>docs/simulation.md: Simulation.Run, the simulated network, Explore, Replay – and a planted bug found and replayed.</summary>
public static class SimulationGuide
{
    public static void Run()
    {
        EchoOverTheSimulatedNetwork();
        FindTheDoubleCharge();
        FixedVersionPasses();
    }

    // One line in, one line out, on every connection; a reset connection just ends.
    static Task<Server> ServeLinesAsync(Simulation sim, string host, int port, Func<string, string> handle) =>
        sim.OnHost(host, () => StartServerAsync(async (reader, writer) =>
        {
            await using (writer)
            {
                try
                {
                    byte[] line;
                    while ((line = await reader.ReadLineAsync()).Length > 0)
                    {
                        writer.Write(Encoding.UTF8.GetBytes(handle(Encoding.UTF8.GetString(line).TrimEnd('\n')) + "\n"));
                    }
                }
                catch (IOException)
                {
                }
            }
        }, null, port));

    static async Task<string> RequestAsync(string host, int port, string line)
    {
        var (reader, writer) = await OpenConnectionAsync(host, port);
        await using (writer)
        {
            writer.Write(Encoding.UTF8.GetBytes(line + "\n"));
            return Encoding.UTF8.GetString(await reader.ReadLineAsync()).TrimEnd('\n');
        }
    }

    static void EchoOverTheSimulatedNetwork()
    {
        // The program's ordinary calls – StartServerAsync, OpenConnectionAsync – reach the simulated network.
        Simulation sim = Simulation.Run(seed: 1, async sim =>
        {
            await using Server server = await ServeLinesAsync(sim, "echo", 7000, line => line.ToUpperInvariant());
            string reply = await RequestAsync("echo", 7000, "hello");
            Console.WriteLine($"reply: {reply} at t={sim.Now:0.0000} s");
        });
        Console.Write(sim.FormatTrace(last: 6));
    }

    // A client charges an order with a 0.1 s timeout and retries on timeout. A slow request is not a lost one: the
    // first attempt may still arrive, and this payment service charges it again.
    static Func<Simulation, Task> ChargeProgram(Dictionary<string, int> charged, bool idempotent) => async sim =>
    {
        charged.Clear();
        var done = new HashSet<string>();
        await using Server payments = await ServeLinesAsync(sim, "payments", 7000, request =>
        {
            string order = request.Split(' ')[1];
            if (idempotent && !done.Add(order))
            {
                return "charged already";   // the fix: the order id is the idempotency key
            }
            charged[order] = charged.GetValueOrDefault(order) + 10;
            return "charged";
        });
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await FailAfter(0.1, () => RequestAsync("payments", 7000, "charge order-1 10"));
                break;
            }
            catch (TimeoutException) when (attempt < 10)
            {
                // slow: try again
            }
        }
        await payments.ShutdownAsync(double.PositiveInfinity);   // let late requests land before the check
    };

    static readonly SimulationOptions SlowLinks = new() { DelaySpikeProbability = 0.05, DelaySpike = 0.5 };

    static void FindTheDoubleCharge()
    {
        var charged = new Dictionary<string, int>();
        ExploreResult result = Simulation.Explore(
            Enumerable.Range(1, 1000),
            ChargeProgram(charged, idempotent: false),
            invariant: _ => charged.Values.All(amount => amount == 10),
            SlowLinks);
        SimulationFailure failure = result.Failure!;
        Console.WriteLine($"found after {result.SeedsRun} seed(s)");
        Console.Write(failure.Describe(last: 8));

        // The same failure, alone and with the whole trace: set a breakpoint in the program and run this.
        try
        {
            Simulation.Replay(failure, ChargeProgram(charged, idempotent: false), _ => charged.Values.All(amount => amount == 10));
        }
        catch (SimulationFailureException again)
        {
            Console.WriteLine($"replayed: {again.Failure.Kind}, charged {charged["order-1"]}, same trace: {again.Failure.Trace.SequenceEqual(failure.Trace)}");
        }
    }

    static void FixedVersionPasses()
    {
        var charged = new Dictionary<string, int>();
        ExploreResult result = Simulation.Explore(
            Enumerable.Range(1, 1000),
            ChargeProgram(charged, idempotent: true),
            invariant: _ => charged.Values.All(amount => amount == 10),
            SlowLinks);
        Console.WriteLine($"fixed: {result.SeedsRun} seeds, failure: {result.Failure?.Kind.ToString() ?? "none"}");
    }
}
