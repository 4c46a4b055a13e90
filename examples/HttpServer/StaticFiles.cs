// Snippets of docs/static-files.md: compiled with the example, not run by it (tests/Aio.Http.Tests/Static covers the behaviour).
using Aio.Http;

internal static class StaticFilesSnippets
{
    public static void Site(Application app, string wwwroot)
    {
        app.Router.Static("/static", wwwroot, new StaticFileOptions
        {
            IndexFile = "index.html",                  // a directory serves its index.html (off by default)
            CacheControl = "public, max-age=3600",     // on every answer, 304s included
        });
    }

    public static void Download(Application app, string reportsDirectory)
    {
        // One file from a handler: the same ETag, 304/412, Range and sendfile as Router.Static.
        app.Router.Get("/report/{year:int}", req =>
        {
            string path = Path.Combine(reportsDirectory, $"report-{req.Route<int>("year")}.pdf");
            Response r = Response.File(path);
            r.Headers["Content-Disposition"] = "attachment";
            return r;
        });
    }

    public static void Browse(Application app, string folder)
    {
        // A directory without index.html answers a page of its entries (directories first, sizes, times).
        app.Router.Static("/files", folder, new StaticFileOptions { DirectoryListing = true });
    }
}
