using System.Text;

namespace Aio.TestUtilities;

/// <summary>
/// Finds the programs that end-to-end tests run as real processes (an example under <c>examples/</c>, or a probe
/// under <c>tests/</c>), built in the test's own configuration, and the <c>dotnet</c> host to run them with.
/// </summary>
public static class ExampleProgram
{
    /// <summary>The <c>dotnet</c> host running the tests (<c>DOTNET_HOST_PATH</c>), else <c>dotnet</c> from PATH.</summary>
    public static string Dotnet =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    /// <summary>
    /// The built dll of project <paramref name="name"/> in <c>&lt;repo&gt;/<paramref name="folder"/>/<paramref name="name"/></c>,
    /// for the configuration and framework the calling test runs in (the test project must reference it so it is built first).
    /// </summary>
    /// <exception cref="FileNotFoundException">The repository root or the dll is not there; the message says what to build.</exception>
    public static string Find(string name, string folder = "examples")
    {
        // <repo>/tests/<Project>/bin/<Configuration>/<framework>/ → <repo>/<folder>/<name>/bin/<Configuration>/<framework>/.
        var bin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
        string configuration = bin.Parent!.Name;
        DirectoryInfo? root = bin;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Aio.slnx")))
        {
            root = root.Parent;
        }
        if (root is null)
        {
            throw new FileNotFoundException($"No Aio.slnx above {bin.FullName}: run the tests from the repository.");
        }
        string dll = Path.Combine(root.FullName, folder, name, "bin", configuration, bin.Name, name + ".dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"{dll} is missing; build {folder}/{name} (the test project should reference it).", dll);
        }
        return dll;
    }

    /// <summary>One line read from a child's output, as text without its newline.</summary>
    public static string Line(byte[] line) => Encoding.UTF8.GetString(line).TrimEnd('\n');
}
