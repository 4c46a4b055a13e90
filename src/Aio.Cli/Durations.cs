using System.Globalization;

namespace Aio.Cli;

/// <summary>Durations on the command line: <c>250ms</c>, <c>30s</c>, <c>5m</c>, <c>2h</c>, <c>30d</c>, or plain seconds (<c>1.5</c>).</summary>
internal static class Durations
{
    public static bool TryParse(string text, out TimeSpan value)
    {
        value = default;
        string s = text.Trim().ToLowerInvariant();
        (string digits, double unit) = s switch
        {
            _ when s.EndsWith("ms", StringComparison.Ordinal) => (s[..^2], 0.001),
            _ when s.EndsWith('s') => (s[..^1], 1),
            _ when s.EndsWith('m') => (s[..^1], 60),
            _ when s.EndsWith('h') => (s[..^1], 3600),
            _ when s.EndsWith('d') => (s[..^1], 86400),
            _ => (s, 1),
        };
        if (!double.TryParse(digits, NumberStyles.Float, CultureInfo.InvariantCulture, out double n) || n < 0 || double.IsInfinity(n) || double.IsNaN(n))
        {
            return false;
        }
        value = TimeSpan.FromSeconds(n * unit);
        return true;
    }

    /// <summary>The value of a duration option, for System.CommandLine's custom parser: an error names the option and the accepted forms.</summary>
    public static TimeSpan Parse(System.CommandLine.Parsing.ArgumentResult result, bool positive = true)
    {
        string token = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
        if (!TryParse(token, out TimeSpan value) || (positive && value <= TimeSpan.Zero))
        {
            string name = result.Parent is System.CommandLine.Parsing.OptionResult o ? o.Option.Name : "duration";
            result.AddError($"{name}: '{token}' is not a {(positive ? "positive " : "")}duration; write it as 250ms, 30s, 5m, 2h or 30d.");
            return default;
        }
        return value;
    }

    public static string Format(TimeSpan t) => t.TotalSeconds switch
    {
        < 1 => string.Create(CultureInfo.InvariantCulture, $"{t.TotalMilliseconds:0.#}ms"),
        < 120 => string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0.##}s"),
        < 7200 => string.Create(CultureInfo.InvariantCulture, $"{t.TotalMinutes:0.##}m"),
        < 172800 => string.Create(CultureInfo.InvariantCulture, $"{t.TotalHours:0.##}h"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{t.TotalDays:0.##}d"),
    };
}
