// The plain .NET peer of bench/: W1-W5 and the W6 echo server.
//
//   dotnet Peers.DotNet.dll W1|W2|W3|W4|W5 [--n N] [--warmup 0|1]
//   dotnet Peers.DotNet.dll echo-server --port P
//
// A workload command runs once at n/10 as an in-process warm-up (unless --warmup 0),
// then once at n, and prints one line:
//
//   RESULT workload=W1 peer=dotnet value=<number> unit=<unit> n=<ops> elapsed_s=<s> cpu_s=<s>
//
// and exits 1 when the workload's check fails. bench/README.md describes the workloads.
// Everything runs on the thread pool (the scheduler plain .NET code runs on), started
// from a pool thread so that W1 schedules its callbacks "from inside the running loop".
using Peers.DotNet;

return await Task.Run(() => Cli.RunAsync(args));
