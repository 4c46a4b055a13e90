// The Aio.Http parser fuzzer: mutates the seed corpus (fuzz/corpus/*.http) and checks each input with FuzzTarget.
//
//   dotnet run -c Release --project fuzz/Aio.Http.Fuzz -- [--minutes M] [--seed S] [--corpus DIR]
//
// Inputs whose answer (the statuses in order) was not seen before are added to the corpus directory; a failing
// input is written to fuzz/crashes/ and the run exits 1. The CI runs only the corpus (tests/Aio.Http.Tests).
using System.Diagnostics;
using System.Text;
using Aio.Http.Fuzz;

double minutes = 10;
int seed = Environment.TickCount;
string corpusDir = Path.Combine(FindRoot(), "fuzz", "corpus");
for (int i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--minutes": minutes = double.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--seed": seed = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--corpus": corpusDir = args[i + 1]; break;
        default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
    }
}

var random = new Random(seed);
var corpus = Directory.GetFiles(corpusDir, "*.http").Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToList();
var signatures = new HashSet<string>(corpus.Select(FuzzTarget.Signature));
Console.WriteLine($"seed {seed}: {corpus.Count} corpus inputs, {signatures.Count} distinct answers; running {minutes} min");
byte[][] tokens = new[]
{
    "\r\n", "\r", "\n", " ", "\t", ":", ";", ",", "0", "1", "9", "a", "f", "x", "\u0000", "\u007f", "\u00ff", "\r\n\r\n",
    "Content-Length: ", "Transfer-Encoding: chunked\r\n", "Transfer-Encoding: ", "chunked", "gzip, ", "Host: a\r\n",
    "Expect: 100-continue\r\n", "Connection: close\r\n", "Connection: keep-alive\r\n", "0\r\n\r\n", "5\r\nhello\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "POST /echo HTTP/1.1\r\n", "HTTP/1.0", "HTTP/1.1", "http://b/", "*", "%2F", "?a=1&b",
    "ffffffffffffffff", "18446744073709551616", "-1", "+1", " 1", "1 ", "X-Long: " + new string('y', 300) + "\r\n",
}.Select(t => Encoding.Latin1.GetBytes(t)).ToArray();

var clock = Stopwatch.StartNew();
long runs = 0;
int added = 0;
while (clock.Elapsed.TotalMinutes < minutes)
{
    byte[] input = Mutate(corpus[random.Next(corpus.Count)]);
    string? problem = FuzzTarget.Check(input, random);
    runs++;
    if (problem is not null)
    {
        string crashes = Path.Combine(FindRoot(), "fuzz", "crashes");
        Directory.CreateDirectory(crashes);
        string file = Path.Combine(crashes, $"crash-{seed}-{runs}.http");
        File.WriteAllBytes(file, input);
        Console.WriteLine($"FAILURE after {runs} runs: {problem}\ninput saved to {file}");
        return 1;
    }
    if (runs % 50 == 0 && input.Length < 2048)
    {
        string sig = FuzzTarget.Signature(input);
        if (signatures.Add(sig))
        {
            corpus.Add(input);
            added++;
            File.WriteAllBytes(Path.Combine(corpusDir, $"found-{Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(input))[..12].ToLowerInvariant()}.http"), input);
        }
    }
    if (runs % 2000 == 0)
    {
        Console.WriteLine($"{clock.Elapsed.TotalMinutes:0.0} min: {runs} runs ({runs / clock.Elapsed.TotalSeconds:0}/s), corpus {corpus.Count} (+{added}), {signatures.Count} distinct answers, GC heap {GC.GetTotalMemory(false) / 1024 / 1024} MiB");
    }
}
Console.WriteLine($"OK: {runs} runs in {clock.Elapsed.TotalMinutes:0.0} min without a failure; corpus {corpus.Count} (+{added}), {signatures.Count} distinct answers");
return 0;

byte[] Mutate(byte[] source)
{
    var data = new List<byte>(source);
    int steps = 1 + random.Next(4);
    for (int s = 0; s < steps; s++)
    {
        int pos = data.Count == 0 ? 0 : random.Next(data.Count + 1);
        switch (random.Next(7))
        {
            case 0 when data.Count > 0:
                data[Math.Min(pos, data.Count - 1)] ^= (byte)(1 << random.Next(8));
                break;
            case 1 when data.Count > 0:
                data[Math.Min(pos, data.Count - 1)] = (byte)random.Next(256);
                break;
            case 2:
                data.InsertRange(pos, tokens[random.Next(tokens.Length)]);
                break;
            case 3 when data.Count > 0:
                int len = Math.Min(1 + random.Next(8), data.Count - Math.Min(pos, data.Count - 1));
                data.RemoveRange(Math.Min(pos, data.Count - 1), len);
                break;
            case 4 when data.Count > 0:
                int start = random.Next(data.Count);
                int n = Math.Min(1 + random.Next(32), data.Count - start);
                data.InsertRange(pos, data.GetRange(start, n));
                break;
            case 5:
                byte[] other = corpus[random.Next(corpus.Count)];
                int cut = random.Next(other.Length + 1);
                data.InsertRange(pos, other[cut..]);
                break;
            default:
                data.InsertRange(pos, tokens[random.Next(tokens.Length)]);
                break;
        }
    }
    if (data.Count > 4096)
    {
        data.RemoveRange(4096, data.Count - 4096);
    }
    return data.ToArray();
}

static string FindRoot()
{
    var dir = new DirectoryInfo(AppContext.BaseDirectory);
    while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Aio.slnx")))
    {
        dir = dir.Parent;
    }
    return dir?.FullName ?? throw new DirectoryNotFoundException("Run the fuzzer from inside the repository.");
}
