// loop.SendFileAsync: asyncio's loop.sendfile(transport, file, offset, count, fallback).
//
// Design note. Two paths. Native: the transport is the epoll back end's plain socket (ReactorSocketTransport) on a
// 64-bit Linux process; its buffered writes go out first, then the file moves inside the kernel with non-blocking
// sendfile(2) calls, each EAGAIN waiting for EPOLLOUT through the reactor (see ReactorSocketTransport). Fallback (any
// other transport: TLS, the portable back end, pipes, a user's transport; or sendfile refusing the file with EINVAL
// and the like): the file is read in 64 KiB blocks into one rented buffer and written to the transport, waiting
// whenever the transport's buffer is over its high-water mark. The wait needs the transport's PauseWriting and
// ResumeWriting, which go to the protocol: as asyncio does, a forwarding protocol stands in for the user's during
// the copy (SetProtocol) and passes every callback on, so the user's protocol sees nothing different.
// The file reads are synchronous, on the loop's thread: fast for a file in the page cache, a stall per block
// for a cold file on a slow disk.
using System.Buffers;
using Aio.LowLevel;
using Aio.Net.Internal;
using Microsoft.Win32.SafeHandles;

namespace Aio.Net;

public static partial class EventLoopNetExtensions
{
    private const int SendFileCopyBlock = 64 * 1024;

    /// <summary>
    /// Sends <paramref name="count"/> bytes of <paramref name="file"/> from <paramref name="offset"/> through
    /// <paramref name="transport"/> (asyncio's <c>loop.sendfile</c>), after the bytes already written to it; returns the
    /// bytes sent (fewer than asked when the file ends first). On a plain socket of the epoll loop the kernel copies the
    /// file (sendfile(2)); otherwise, or if the kernel refuses this file, it is read and written in 64 KiB blocks,
    /// waiting for the transport's buffer to drain.
    /// </summary>
    /// <remarks>
    /// While it runs, <see cref="ITransport.Write"/> on the transport throws (the bytes would interleave with the file's);
    /// reading goes on. The file's position is not used or moved (reads are positional). Cancelling the task stops the
    /// transfer between two blocks: the peer has received a prefix of the range, so end the connection.
    /// </remarks>
    /// <param name="loop">The running loop, called on its thread.</param>
    /// <param name="transport">A stream transport that can write.</param>
    /// <param name="file">An open, readable file (<c>File.OpenHandle(path)</c> or <c>FileStream.SafeFileHandle</c>).</param>
    /// <param name="offset">Where to start in the file.</param>
    /// <param name="count">How many bytes; null for the rest of the file.</param>
    /// <param name="fallback">False: throw <see cref="NotSupportedException"/> when sendfile(2) cannot be used, instead of copying.</param>
    /// <exception cref="NotSupportedException"><paramref name="fallback"/> is false and sendfile(2) is not possible (see <see cref="CanSendFile"/>).</exception>
    /// <exception cref="IOException">The connection closed or was reset before the file was sent.</exception>
    /// <exception cref="InvalidOperationException">Another SendFileAsync is running on the transport, or it was half-closed (WriteEof).</exception>
    public static async Task<long> SendFileAsync(this EventLoop loop, ITransport transport, SafeFileHandle file, long offset = 0, long? count = null, bool fallback = true)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(file);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (count is long c)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(c, nameof(count));
        }
        loop.CheckThread(nameof(SendFileAsync));
        long total = count ?? Math.Max(0, RandomAccess.GetLength(file) - offset);
        long sent = 0;
        if (transport.CanSendFile() && OperatingSystem.IsLinux())
        {
            (sent, bool unsupported) = await ((ReactorSocketTransport)transport).SendFileNativeAsync(file, offset, total);
            if (!unsupported)
            {
                return sent;
            }
        }
        if (!fallback)
        {
            NetThrowHelper.SendFileNotAvailable(transport);
        }
        return sent + await SendFileCopyAsync(transport, file, offset + sent, total - sent);
    }

    /// <summary>
    /// True when <see cref="SendFileAsync"/> sends through <paramref name="transport"/> with sendfile(2): a plain TCP or
    /// Unix socket of the epoll loop (Linux, 64-bit), not TLS, not the portable back end, not a transport of your own.
    /// </summary>
    public static bool CanSendFile(this ITransport transport) =>
        transport is ReactorSocketTransport && Environment.Is64BitProcess;

    private static async Task<long> SendFileCopyAsync(ITransport transport, SafeFileHandle file, long offset, long count)
    {
        if (count <= 0)
        {
            return 0;
        }
        SendFileCopyProtocol watcher = SendFileCopyProtocol.Install(transport);
        byte[] block = ArrayPool<byte>.Shared.Rent((int)Math.Min(count, SendFileCopyBlock));
        long sent = 0;
        try
        {
            while (sent < count)
            {
                await watcher.WaitWritableAsync(sent, count);
                int n = RandomAccess.Read(file, block.AsSpan(0, (int)Math.Min(block.Length, count - sent)), offset + sent);
                if (n == 0)
                {
                    break;
                }
                transport.Write(block.AsSpan(0, n));
                sent += n;
            }
            await watcher.WaitWritableAsync(sent, count);
            return sent;
        }
        finally
        {
            watcher.Restore();
            ArrayPool<byte>.Shared.Return(block);
        }
    }

    /// <summary>Stands in for the transport's protocol during a copy: passes everything on, and wakes the copy on ResumeWriting.</summary>
    private class SendFileCopyProtocol : IBaseProtocol
    {
        private readonly ParkingLot _waiters;
        private bool _paused;
        private bool _lost;

        protected SendFileCopyProtocol(ITransport transport, IBaseProtocol inner)
        {
            Transport = transport;
            Inner = inner;
            _waiters = new ParkingLot(this);
            (_, int high) = transport.GetWriteBufferLimits();
            _paused = transport.GetWriteBufferSize() > high;
        }

        protected ITransport Transport { get; }

        protected IBaseProtocol Inner { get; }

        public static SendFileCopyProtocol Install(ITransport transport)
        {
            IBaseProtocol inner = transport.Protocol;
            SendFileCopyProtocol p = inner switch
            {
                IBufferedProtocol b => new Buffered(transport, b),
                IProtocol s => new Streamed(transport, s),
                _ => new SendFileCopyProtocol(transport, inner),
            };
            transport.SetProtocol(p);
            return p;
        }

        public void Restore()
        {
            if (ReferenceEquals(Transport.Protocol, this))
            {
                Transport.SetProtocol(Inner);
            }
        }

        public async ValueTask WaitWritableAsync(long sent, long count)
        {
            while (true)
            {
                if (_lost || Transport.IsClosing)
                {
                    NetThrowHelper.SendFileConnectionLost(Transport, sent, count);
                }
                if (!_paused)
                {
                    return;
                }
                await _waiters.ParkAsync();
            }
        }

        public void ConnectionMade(ITransport transport) => Inner.ConnectionMade(transport);

        public void ConnectionLost(Exception? exception)
        {
            _lost = true;
            _waiters.UnparkAll();
            Inner.ConnectionLost(exception);
        }

        public void PauseWriting()
        {
            _paused = true;
            Inner.PauseWriting();
        }

        public void ResumeWriting()
        {
            _paused = false;
            _waiters.UnparkAll();
            Inner.ResumeWriting();
        }

        public override string ToString() => $"<SendFileCopyProtocol for {Inner}>";

        private sealed class Buffered(ITransport transport, IBufferedProtocol inner) : SendFileCopyProtocol(transport, inner), IBufferedProtocol
        {
            public Memory<byte> GetBuffer(int sizeHint) => inner.GetBuffer(sizeHint);

            public void BufferUpdated(int bytes) => inner.BufferUpdated(bytes);

            public bool EofReceived() => inner.EofReceived();
        }

        private sealed class Streamed(ITransport transport, IProtocol inner) : SendFileCopyProtocol(transport, inner), IProtocol
        {
            public void DataReceived(ReadOnlySpan<byte> data) => inner.DataReceived(data);

            public bool EofReceived() => inner.EofReceived();
        }
    }
}
