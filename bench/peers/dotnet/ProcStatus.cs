using System.Globalization;

namespace Peers.DotNet;

/// <summary>Reads memory figures from /proc/self/status (Linux).</summary>
internal static class ProcStatus
{
    /// <summary>A "VmXxx:  1234 kB" field of /proc/self/status, in KiB.</summary>
    public static long ReadKiB(string field)
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                string[] parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                return long.Parse(parts[1], CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"{field} is not in /proc/self/status.");
    }

    /// <summary>Resets VmHWM to the current RSS (Linux 4.0 and later), so the peak is this run's.</summary>
    public static void ResetPeakRss()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (IOException)
        {
            // Not permitted here: VmHWM stays the lifetime peak.
        }
        catch (UnauthorizedAccessException)
        {
            // Same.
        }
    }
}
