// SslTransport: TLS over any stream transport, through SslStream (docs/design.md, principle 6: never write TLS by hand).
//
// Design note. Two layers: the raw transport (TCP or Unix) carries ciphertext and calls RawSide, this
// transport's inner protocol; RawSide feeds a CipherStream, which is the inner stream of an SslStream. A
// pump task on the loop runs the handshake, then reads plaintext from the SslStream and hands it to the
// user's protocol. SslStream awaits the CipherStream with ConfigureAwait(false); CipherStream completes
// those awaits on the loop thread with no SynchronizationContext installed, so all of SslStream runs on
// the loop thread, inline, never on the thread pool. Plaintext writes go through SslStream's synchronous
// Write, which encrypts and writes ciphertext to the raw transport at once (it never blocks: the
// CipherStream's Write is the raw transport's Write); before the handshake finishes they are buffered.
// Flow control: the raw transport's water marks apply to ciphertext; its PauseWriting/ResumeWriting
// are passed on to the user's protocol. The user's ConnectionLost comes once, after both the raw
// connection is gone and the pump has delivered everything (so EofReceived is never after it).
// A handshake that fails or times out aborts the raw connection and fails the connect (or StartTls).
using System.Diagnostics;
using System.Net.Security;
using Aio.LowLevel;
using Aio.Streams.Internal;

namespace Aio.Net.Internal;

[DebuggerDisplay("{ToString(),nq}")]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2213", Justification = "Lives as long as the connection; released with it.")]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "Lives as long as the connection; released with it.")]
internal sealed class SslTransport : ITlsTransport
{
    private const int PlainBufferSize = 32 * 1024;

    private readonly EventLoop _loop;
    private readonly object _options;                 // SslClientAuthenticationOptions or SslServerAuthenticationOptions
    private readonly double _handshakeTimeout;
    private readonly AioFuture<bool>? _waiter;        // completed after the handshake (and ConnectionMade)
    private readonly bool _callConnectionMade;        // false for StartTls: the user's protocol is connected already
    private readonly CipherStream _cipher;
    private readonly SslStream _ssl;
    private readonly ParkingLot _resume;              // the pump waits here while reading is paused
    private readonly WriteBuffer _early = new();      // plaintext written before the handshake finished
    private IBaseProtocol _protocol;
    private ITransport? _raw;
    private bool _handshakeDone;
    private bool _handshakeTimedOut;
    private bool _userMade;                           // the user's ConnectionMade was called (or it was connected before StartTls)
    private bool _closing;
    private bool _readingPaused;
    private bool _pumpDone;
    private bool _rawLost;
    private bool _lostCalled;
    private Exception? _lostError;
    private byte[]? _plain;

    public SslTransport(EventLoop loop, IBaseProtocol protocol, object options, double handshakeTimeout, AioFuture<bool>? waiter, bool callConnectionMade = true)
    {
        _loop = loop;
        _protocol = protocol;
        CheckProtocol(protocol);
        _options = options;
        _handshakeTimeout = handshakeTimeout;
        _waiter = waiter;
        _callConnectionMade = callConnectionMade;
        _userMade = !callConnectionMade;
        _cipher = new CipherStream(loop);
        _ssl = new SslStream(_cipher, leaveInnerStreamOpen: true);
        _resume = new ParkingLot(this);
        RawProtocol = new RawSide(this);
    }

    /// <summary>The protocol to give the raw transport.</summary>
    public IProtocol RawProtocol { get; }

    /// <summary>Fills in the TLS target host with the connect's host name when the caller left it empty.</summary>
    public static SslClientAuthenticationOptions WithTargetHost(SslClientAuthenticationOptions options, string host)
    {
        if (!string.IsNullOrEmpty(options.TargetHost))
        {
            return options;
        }
        return new SslClientAuthenticationOptions
        {
            TargetHost = host,
            AllowRenegotiation = options.AllowRenegotiation,
            ApplicationProtocols = options.ApplicationProtocols,
            CertificateRevocationCheckMode = options.CertificateRevocationCheckMode,
            CipherSuitesPolicy = options.CipherSuitesPolicy,
            ClientCertificates = options.ClientCertificates,
            EnabledSslProtocols = options.EnabledSslProtocols,
            EncryptionPolicy = options.EncryptionPolicy,
            LocalCertificateSelectionCallback = options.LocalCertificateSelectionCallback,
            RemoteCertificateValidationCallback = options.RemoteCertificateValidationCallback,
            CertificateChainPolicy = options.CertificateChainPolicy,
        };
    }

    private static void CheckProtocol(IBaseProtocol protocol)
    {
        if (protocol is not (IProtocol or IBufferedProtocol))
        {
            StreamThrowHelper.NotAStreamProtocol(protocol);
        }
    }

    /// <summary>StartTls: take over an open transport (its protocol becomes the raw side) and start the handshake.</summary>
    public void AttachToOpenTransport(ITransport transport)
    {
        transport.SetProtocol(RawProtocol);
        RawProtocol.ConnectionMade(transport);
    }

    private void OnRawConnected(ITransport raw)
    {
        _raw = raw;
        _cipher.Raw = raw;
        _loop.CreateTask(PumpAsync, "TLS pump");
    }

    private async Task PumpAsync()
    {
        Exception? error = null;
        TimerHandle timer = _loop.CallLater(_handshakeTimeout, () =>
        {
            if (!_handshakeDone)
            {
                _handshakeTimedOut = true;
                _raw?.Abort();
            }
        });
        try
        {
            if (_options is SslClientAuthenticationOptions client)
            {
                await _ssl.AuthenticateAsClientAsync(client, CancellationToken.None);
            }
            else
            {
                await _ssl.AuthenticateAsServerAsync((SslServerAuthenticationOptions)_options, CancellationToken.None);
            }
            timer.Cancel();
            _handshakeDone = true;
            if (_early.Length > 0)
            {
                _ssl.Write(_early.Span);
                _early.Clear();
            }
            if (_callConnectionMade)
            {
                _userMade = true;
                _protocol.ConnectionMade(this);
            }
            _waiter?.TrySetResult(true);
            if (_closing)
            {
                Shutdown();
            }
            while (!_rawLost)
            {
                while (_readingPaused && !_rawLost)
                {
                    await _resume.ParkAsync();
                }
                int n;
                if (_protocol is IBufferedProtocol buffered)
                {
                    Memory<byte> memory = buffered.GetBuffer(-1);
                    n = await _ssl.ReadAsync(memory);
                    if (n > 0)
                    {
                        buffered.BufferUpdated(n);
                    }
                }
                else
                {
                    _plain ??= new byte[PlainBufferSize];
                    n = await _ssl.ReadAsync(_plain);
                    if (n > 0)
                    {
                        ((IProtocol)_protocol).DataReceived(_plain.AsSpan(0, n));
                    }
                }
                if (n == 0 && (_closing || _rawLost))
                {
                    break;   // our own close (or the raw connection is gone): no EofReceived
                }
                if (n == 0)
                {
                    bool keepOpen = _protocol is IProtocol p ? p.EofReceived() : ((IBufferedProtocol)_protocol).EofReceived();
                    if (!keepOpen)
                    {
                        Close();
                    }
                    break;
                }
            }
        }
        catch (Exception e)
        {
            error = e;
        }
        finally
        {
            timer.Cancel();
        }

        if (!_handshakeDone)
        {
            Exception failure = _handshakeTimedOut
                ? new TimeoutException($"The TLS handshake did not finish within {_handshakeTimeout} s; the connection was aborted.", error)
                : error ?? new IOException("The connection closed during the TLS handshake.");
            _waiter?.TrySetException(failure);
            _lostError = failure;
            _raw?.Abort();
        }
        else if (error is not null && !_rawLost && !_closing)
        {
            if (error is not (IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException))
            {
                _loop.CallExceptionHandler(new ExceptionContext
                {
                    Message = $"Fatal error on TLS transport {this} (a protocol callback or the TLS layer failed); the connection is aborted.",
                    Exception = error,
                    Source = this,
                });
            }
            _lostError ??= error;
            _raw?.Abort();
        }
        else if (error is not null && !_closing)
        {
            _lostError ??= error;
        }
        else if (error is not null)
        {
            _raw?.Abort();
        }
        _pumpDone = true;
        TryCallConnectionLost();
    }

    private void OnRawLost(Exception? error)
    {
        _rawLost = true;
        _lostError ??= error;
        _cipher.Fail(error);
        _resume.UnparkAll();
        TryCallConnectionLost();
    }

    private void TryCallConnectionLost()
    {
        if (!_pumpDone || !_rawLost || _lostCalled)
        {
            return;
        }
        _lostCalled = true;
        _closing = true;
        if (!_userMade)
        {
            return;
        }
        try
        {
            _protocol.ConnectionLost(_lostError);
        }
        catch (Exception e)
        {
            _loop.CallExceptionHandler(new ExceptionContext { Message = "protocol.ConnectionLost() failed", Exception = e, Source = this });
        }
    }

    // ----------------------------------------------------------------- ITransport

    public bool IsClosing => _closing;

    public bool IsReading => !_readingPaused && !_closing;

    public IBaseProtocol Protocol => _protocol;

    public void SetProtocol(IBaseProtocol protocol)
    {
        ArgumentNullException.ThrowIfNull(protocol);
        _loop.CheckThread(nameof(SetProtocol));
        CheckProtocol(protocol);
        _protocol = protocol;
    }

    public object? GetExtraInfo(string name, object? defaultValue = null) => name switch
    {
        "sslstream" or "ssl_object" => _ssl,
        "peercert" => _handshakeDone ? _ssl.RemoteCertificate : defaultValue,
        "cipher" => _handshakeDone ? _ssl.NegotiatedCipherSuite : defaultValue,
        "sslprotocol" => _handshakeDone ? _ssl.SslProtocol : defaultValue,
        _ => _raw?.GetExtraInfo(name, defaultValue) ?? defaultValue,
    };

    public void Write(ReadOnlySpan<byte> data)
    {
        _loop.CheckThread(nameof(Write));
        if (data.IsEmpty || _closing)
        {
            return;
        }
        if (!_handshakeDone)
        {
            _early.Append(data);
            return;
        }
        try
        {
            _ssl.Write(data);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            _lostError ??= e;
            _raw?.Abort();
        }
    }

    public bool CanWriteEof => false;

    public void WriteEof() => NetThrowHelper.TlsCannotWriteEof(this);

    public void Close()
    {
        _loop.CheckThread(nameof(Close));
        if (_closing)
        {
            return;
        }
        _closing = true;
        if (_handshakeDone)
        {
            Shutdown();
        }
        else if (_raw is null || !_callConnectionMade)
        {
            _raw?.Close();
        }
        // Otherwise the pump shuts down once the handshake is through (or fails).
    }

    private void Shutdown()
    {
        try
        {
            Task t = _ssl.ShutdownAsync();   // writes close_notify synchronously through the CipherStream
            _ = t.Exception;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The connection is going anyway.
        }
        _raw?.Close();
    }

    public void Abort()
    {
        _loop.CheckThread(nameof(Abort));
        _closing = true;
        _raw?.Abort();
    }

    public void PauseReading()
    {
        _loop.CheckThread(nameof(PauseReading));
        if (_closing || _readingPaused)
        {
            return;
        }
        _readingPaused = true;
        _raw?.PauseReading();
    }

    public void ResumeReading()
    {
        _loop.CheckThread(nameof(ResumeReading));
        if (_closing || !_readingPaused)
        {
            return;
        }
        _readingPaused = false;
        _raw?.ResumeReading();
        _resume.UnparkAll();
    }

    public int GetWriteBufferSize() => (_raw?.GetWriteBufferSize() ?? 0) + _early.Length;

    public (int Low, int High) GetWriteBufferLimits() => _raw?.GetWriteBufferLimits() ?? (StreamTransport.DefaultHighWater / 4, StreamTransport.DefaultHighWater);

    public void SetWriteBufferLimits(int? high = null, int? low = null) => _raw?.SetWriteBufferLimits(high, low);

    public override string ToString()
    {
        string state = _lostCalled ? "closed" : _closing ? "closing" : _handshakeDone ? "open" : "handshaking";
        return $"<SslTransport {state} raw={_raw}>";
    }

    /// <summary>The raw transport's protocol: ciphertext in, flow control out.</summary>
    private sealed class RawSide(SslTransport owner) : IProtocol
    {
        public void ConnectionMade(ITransport transport) => owner.OnRawConnected(transport);

        public void DataReceived(ReadOnlySpan<byte> data) => owner._cipher.Feed(data);

        public bool EofReceived()
        {
            owner._cipher.FeedEof();
            return true;   // the pump decides, once SslStream has read what is left
        }

        public void ConnectionLost(Exception? exception) => owner.OnRawLost(exception);

        public void PauseWriting()
        {
            if (owner._userMade)
            {
                owner._protocol.PauseWriting();
            }
        }

        public void ResumeWriting()
        {
            if (owner._userMade)
            {
                owner._protocol.ResumeWriting();
            }
        }

        public override string ToString() => $"<SslTransport.RawSide of {owner}>";
    }
}
