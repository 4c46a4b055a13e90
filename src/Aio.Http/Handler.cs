namespace Aio.Http;

/// <summary>Handles a request: runs in the request's own Aio task and cancel scope and returns its response.</summary>
public delegate ValueTask<Response> Handler(Request request);

/// <summary>
/// Wraps the handlers: runs code before and after <paramref name="next"/> (the rest of the chain), or answers
/// without calling it. <c>app.Use(async (req, next) =&gt; { var r = await next(req); r.Headers["X-A"] = "1"; return r; })</c>.
/// </summary>
public delegate ValueTask<Response> Middleware(Request request, Handler next);
