namespace Aio.Http.Tests;

/// <summary>The public surface of Aio.Http, listed: a change to it shows up here.</summary>
public class PublicApiTests
{
    [Fact]
    public void PublicTypes_AreTheDocumentedOnes()
    {
        string[] types = typeof(Application).Assembly.GetExportedTypes().Select(t => t.FullName!).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(
        [
            "Aio.Http.Application",
            "Aio.Http.FormFile",
            "Aio.Http.Handler",
            "Aio.Http.HttpException",
            "Aio.Http.HttpLimits",
            "Aio.Http.HttpServer",
            "Aio.Http.Middleware",
            "Aio.Http.MultiDict",
            "Aio.Http.Request",
            "Aio.Http.RequestHeaders",
            "Aio.Http.Response",
            "Aio.Http.ResponseBodyWriter",
            "Aio.Http.ResponseHeaders",
            "Aio.Http.Route",
            "Aio.Http.Router",
            "Aio.Http.Testing.TestClient",
            "Aio.Http.Testing.TestConnection",
            "Aio.Http.Testing.TestResponse",
        ], types.Where(t => !t.StartsWith("Aio.Http.Client", StringComparison.Ordinal) && !t.StartsWith("Aio.Http.WebSockets", StringComparison.Ordinal)));
    }
}
