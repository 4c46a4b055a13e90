using System.Text;

namespace Aio.Http.Internal;

/// <summary>Reason phrases and the cached bytes of "HTTP/1.1 {status} {reason}\r\n" for every status 100-599.</summary>
internal static class StatusLines
{
    private static readonly byte[]?[] s_lines = new byte[600][];

    public static string Reason(int status) => status switch
    {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        417 => "Expectation Failed",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    };

    /// <summary>"HTTP/1.1 {status} {reason}\r\n" (built once per status).</summary>
    public static byte[] Line(int status)
    {
        if ((uint)status >= 600 || status < 100)
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, "An HTTP status code is between 100 and 599.");
        }
        return s_lines[status] ??= Encoding.ASCII.GetBytes($"HTTP/1.1 {status} {Reason(status)}\r\n");
    }
}
