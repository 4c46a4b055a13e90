using System.Diagnostics;

namespace Aio.Http;

/// <summary>A file part of a multipart/form-data body (<see cref="Request.FormAsync"/>, then <see cref="Request.Files"/>).</summary>
/// <param name="Name">The form field's name.</param>
/// <param name="FileName">The file name the client sent.</param>
/// <param name="ContentType">The part's Content-Type (application/octet-stream if none).</param>
/// <param name="Content">The file's bytes.</param>
[DebuggerDisplay("{ToString(),nq}")]
public sealed record FormFile(string Name, string FileName, string ContentType, byte[] Content)
{
    /// <inheritdoc/>
    public override string ToString() => $"<FormFile {Name} {FileName} {ContentType} {Content.Length} bytes>";
}
