using Aio.Http.Fuzz;

namespace Aio.Http.Tests.Server;

/// <summary>The fuzzer's corpus (fuzz/corpus), replayed with the fuzzer's checks: the CI part of the fuzzing.</summary>
public class FuzzCorpusTests
{
    public static TheoryData<string> CorpusFiles()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Aio.slnx")))
        {
            dir = dir.Parent;
        }
        var data = new TheoryData<string>();
        foreach (string f in Directory.GetFiles(Path.Combine(dir!.FullName, "fuzz", "corpus"), "*.http").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(f));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(CorpusFiles))]
    public void CorpusInput_KeepsTheInvariants(string file)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(dir!.FullName, "Aio.slnx")))
        {
            dir = dir.Parent;
        }
        byte[] input = File.ReadAllBytes(Path.Combine(dir.FullName, "fuzz", "corpus", file));
        Assert.Null(FuzzTarget.Check(input, new Random(42)));
    }
}
