// InterruptProbe: a program whose main task waits until a signal interrupts it; the tests in
// tests/Aio.Tests/Os/SignalTests.cs run it and send it SIGINT or SIGTERM.
//
//   InterruptProbe uncaught   Asyncio.Run's KeyboardInterrupt is left uncaught: the process must end with
//                             130 (SIGINT) or 143 (SIGTERM) and one line on standard error, without a crash report.
//   InterruptProbe caught     the program catches KeyboardInterrupt, prints which signal it was and exits with 7.
using Aio;

if (args is ["caught"])
{
    try
    {
        WaitForSignal();
    }
    catch (KeyboardInterrupt e)
    {
        Console.WriteLine($"caught {e.Signal}");
        return 7;
    }
    return 0;
}
WaitForSignal();
return 0;

static void WaitForSignal() => Asyncio.Run(async () =>
{
    Console.WriteLine("ready"); // the runner's signal handlers are installed: the test may signal now
    await Asyncio.Sleep(3600);
});
