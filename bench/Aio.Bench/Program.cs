using System.Reflection;
using Aio.Bench;

// Aio.Bench: every workload and server of bench/ is a command: Aio.Bench.dll <command> [options].
// Workloads implement IBenchCommand and are found by reflection, so adding one is adding a file.
var commands = typeof(IBenchCommand).Assembly.GetTypes()
    .Where(t => !t.IsAbstract && typeof(IBenchCommand).IsAssignableFrom(t))
    .Select(t => (IBenchCommand)Activator.CreateInstance(t)!)
    .ToDictionary(c => c.Name, StringComparer.OrdinalIgnoreCase);

if (args.Length == 0 || !commands.TryGetValue(args[0], out IBenchCommand? command))
{
    Console.Error.WriteLine("usage: Aio.Bench <command> [options]");
    foreach (IBenchCommand c in commands.Values.OrderBy(c => c.Name, StringComparer.Ordinal))
    {
        Console.Error.WriteLine($"  {c.Name,-14} {c.Description}");
    }
    return args.Length == 0 ? 0 : 2;
}
return command.Run(new BenchArgs(args.Skip(1).ToArray()));
