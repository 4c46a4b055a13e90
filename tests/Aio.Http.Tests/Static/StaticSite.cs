using System.Text;

namespace Aio.Http.Tests.StaticFiles;

/// <summary>A temporary site: root/ (served) next to outside/ (must never be reachable), with links in and out.</summary>
internal sealed class StaticSite : IDisposable
{
    public StaticSite()
    {
        Base = Directory.CreateTempSubdirectory("aio-static-").FullName;
        Root = Path.Combine(Base, "root");
        Outside = Path.Combine(Base, "outside");
        Directory.CreateDirectory(Root);
        Directory.CreateDirectory(Outside);
        File.WriteAllText(Path.Combine(Outside, "secret.txt"), "SECRET");
        File.WriteAllText(Path.Combine(Root, "hello.txt"), "Hello, static!");
        Data = new byte[1000];
        for (int i = 0; i < Data.Length; i++)
        {
            Data[i] = (byte)(i % 251);
        }
        File.WriteAllBytes(Path.Combine(Root, "data.bin"), Data);
        File.WriteAllText(Path.Combine(Root, "app.js"), "console.log('identity');");
        File.WriteAllText(Path.Combine(Root, "app.js.br"), "BR-BYTES");
        File.WriteAllText(Path.Combine(Root, "app.js.gz"), "GZIP-BYTES!");
        File.WriteAllText(Path.Combine(Root, ".env"), "PASSWORD=x");
        Directory.CreateDirectory(Path.Combine(Root, "sub"));
        File.WriteAllText(Path.Combine(Root, "sub", "index.html"), "<p>index</p>");
        Directory.CreateDirectory(Path.Combine(Root, "list"));
        File.WriteAllText(Path.Combine(Root, "list", "<b>&\"x\".txt"), "x");
        File.WriteAllText(Path.Combine(Root, "list", ".hidden"), "x");
        Directory.CreateDirectory(Path.Combine(Root, "list", "dir"));
        File.CreateSymbolicLink(Path.Combine(Root, "link-out"), Path.Combine(Outside, "secret.txt"));
        File.CreateSymbolicLink(Path.Combine(Root, "link-out-relative"), "../outside/secret.txt");
        Directory.CreateSymbolicLink(Path.Combine(Root, "dir-out"), Outside);
        File.CreateSymbolicLink(Path.Combine(Root, "link-in"), "hello.txt");
        Directory.CreateSymbolicLink(Path.Combine(Root, "sub-link"), Path.Combine(Root, "sub"));
        // Fixed modification time: validators are predictable.
        foreach (string f in Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories))
        {
            if (new FileInfo(f).LinkTarget is null)
            {
                File.SetLastWriteTimeUtc(f, Modified);
            }
        }
    }

    public static readonly DateTime Modified = new(2024, 5, 6, 7, 8, 9, 123, DateTimeKind.Utc);

    public string Base { get; }

    public string Root { get; }

    public string Outside { get; }

    public byte[] Data { get; }

    /// <summary>The strong ETag the server gives a file of <paramref name="length"/> bytes modified at <see cref="Modified"/>.</summary>
    public static string ETag(long length, string? coding = null) =>
        $"\"{Modified.Ticks:x}-{length:x}{(coding is null ? "" : "-" + coding)}\"";

    public const string LastModified = "Mon, 06 May 2024 07:08:09 GMT";

    public Application App(StaticFileOptions? options = null)
    {
        var app = new Application();
        app.Router.Static("/static", Root, options);
        return app;
    }

    public static string Ascii(byte[] b) => Encoding.ASCII.GetString(b);

    public void Dispose() => Directory.Delete(Base, recursive: true);
}
