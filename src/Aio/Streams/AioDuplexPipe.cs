using System.IO.Pipelines;

namespace Aio.Net;

/// <summary>
/// An <see cref="IDuplexPipe"/> over a connection (System.IO.Pipelines), built on <see cref="AioNetworkStream"/>:
/// read with <see cref="Input"/>, write with <see cref="Output"/>, on the loop thread.
/// </summary>
/// <remarks>Belongs to the loop of its connection: use it on that loop's thread only.</remarks>
public sealed class AioDuplexPipe : IDuplexPipe
{
    /// <summary>Wraps a connection's reader and writer; completing <see cref="Output"/> closes the connection.</summary>
    public AioDuplexPipe(AioStreamReader reader, AioStreamWriter writer)
    {
        Stream = new AioNetworkStream(reader, writer);
        Input = PipeReader.Create(Stream, new StreamPipeReaderOptions(leaveOpen: true));
        Output = PipeWriter.Create(Stream, new StreamPipeWriterOptions(leaveOpen: false));
    }

    /// <summary>The stream underneath.</summary>
    public AioNetworkStream Stream { get; }

    /// <inheritdoc/>
    public PipeReader Input { get; }

    /// <inheritdoc/>
    public PipeWriter Output { get; }
}
