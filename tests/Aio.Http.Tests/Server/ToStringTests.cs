namespace Aio.Http.Tests.Server;

/// <summary>The repr-style ToString of the public types (what a debugger shows).</summary>
public class ToStringTests
{
    [Fact]
    public void PublicTypes_ToString_ReprStyle()
    {
        var app = new Application();
        app.Router.Get("/users/{id:int}", _ => Response.Text("x"), name: "user");
        app.Use((r, n) => n(r));
        var texts = new List<string>
        {
            app.ToString(),
            app.Router.ToString(),
            app.Router.Routes[0].ToString(),
            Response.Json(new { a = 1 }, 201).ToString(),
            Response.Status(204).ToString(),
            new HttpLimits().ToString(),
        };
        string request = "";
        app.Router.Get("/r", req => { request = req.ToString() + " " + req.Headers.ToString() + " " + req.Query.ToString(); return Response.Status(200); });
        string client = TestLoop.Run(async () =>
        {
            await using var c = new TestClient(app);
            await c.GetAsync("/r?a=1");
            return c.ToString();
        });
        texts.Add(request);
        texts.Add(client);
        Assert.Equal(
        [
            "<Application routes:1 middlewares:1>",
            "<Router routes:1>",
            "<Route GET /users/{id:int} name=user>",
            "<Response 201 Bytes application/json; charset=utf-8>",
            "<Response 204 Empty>",
            "<HttpLimits line=8192 headers=32768/100 body=30000000>",
            "<Request GET /r?a=1 HTTP/1.1> <RequestHeaders count:1> <MultiDict count:1>",
            "<TestClient connections:1 requests:0>",
        ], texts);
    }
}
