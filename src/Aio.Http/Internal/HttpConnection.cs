// HttpConnection: one HTTP/1.1 connection, a buffered protocol on the loop's reactor.
//
// Design note. The transport receives straight into this connection's buffer (GetBuffer/BufferUpdated): no copy
// between the socket and the parser. Bytes [_dataStart, _dataEnd) are unconsumed. While a request is current its
// head occupies [0, HeadLength) and stays there (header fields are offsets into it), and body bytes follow it; the
// next request's bytes (pipelining) wait behind them. Requests are served one at a time, which orders pipelined
// responses for free; the buffer bounds what a client can queue (reading pauses when it is full).
//
// The connection, not the handler, owns the framing: it sends 100 Continue only when the handler first waits for
// body bytes (never after a final response, never before a 413), and after the response it drains an unread body
// (up to MaxDrainSize) or closes the connection, so body bytes are never parsed as the next request.
//
// States: Idle (between requests; the keep-alive timeout runs) → Head (bytes of a head arrived; the
// request-headers timeout runs) → Request (the handler task runs) → Draining (the response is sent, the rest of
// the body is discarded) → Idle, or Closed at any point. Timeouts are checked by the server's one-second
// heartbeat (HttpServerCore), not by a timer per connection.
//
// Each request's handler runs as an Aio task (HandlerTasks) inside its own CancelScope; ConnectionLost cancels
// the scope, so a handler stops when its client goes away.
using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics;
using System.Net;
using System.Text;
using Aio.LowLevel;

namespace Aio.Http.Internal;

internal sealed class HttpConnection : IBufferedProtocol
{
    private enum State : byte
    {
        Idle,
        Head,
        Request,
        Draining,
        Closed,
        Upgraded,
    }

    private static readonly byte[] s_continue = "HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray();

    private readonly HttpServerCore _core;
    private readonly RequestHead _head = new();
    private readonly ParkingLot _bodyWaiters;     // the handler waiting for body bytes
    private readonly ParkingLot _writeWaiters;    // the handler waiting for the write buffer to drain
    private ITransport _transport = null!;
    private byte[] _buf = [];                     // receive buffer, rented; empty while idle with nothing buffered
    private int _dataStart;                       // first unconsumed byte
    private int _dataEnd;                         // end of the received bytes
    private State _state;

    // Head scanning (absolute offsets into _buf; valid in state Head).
    private int _scanPos;                         // where the search for the next LF resumes
    private int _lineStart;                       // start of the line being scanned
    private int _headersStart;                    // first byte after the request line; -1 while scanning the request line
    private int _fieldCount;

    // The current request.
    private int _generation;                      // bumped when a request ends: a Request of an older generation is finished
    private Request? _request;
    private CancelScope? _scope;
    private CancellationTokenSource? _abortedCts; // Request.Aborted, made on request
    private long _bodyRemaining;                  // Content-Length bytes not yet consumed; unused for chunked
    private ChunkedDecoder _chunked;
    private bool _bodyDone;                       // the whole body (and its trailers) was consumed
    private bool _bodyBroken;                     // the body's framing failed: the connection must close
    private HttpException? _bodyError;            // the error the next body read throws (408 from the heartbeat)
    private long _bodyRead;                       // body bytes delivered (or discarded)
    private long _drained;                        // body bytes discarded after the response
    private long _bodySent;                       // response body bytes written for the current request (the access log's)
    private double _accessStart;                  // loop time the current request's head was complete (the access log's)
    private long? _maxBody;
    private bool _continueSent;
    private bool _responseStarted;                // the response head was written
    private bool _closeAfterResponse;
    private bool _readingBody;                    // a handler is inside ReadBodyAsync
    private Func<Task<int>>? _invoke;             // InvokeAsync, cached: one delegate per connection, not per request
    private UpgradedConnection? _upgraded;        // after a 101: the taker's side of the connection

    /// <summary>Told when a graceful shutdown begins while a response streams (an event stream ends itself).</summary>
    internal Action? ShutdownHook;

    private bool _readPaused;
    private bool _writePaused;
    private bool _waitingForDrain;                // idle with pipelined requests held back until the write buffer drains
    private bool _eof;
    private double _deadline = double.PositiveInfinity;   // loop time at which the state's timeout fires
    private double _rateStart = -1;               // loop time the handler first waited for body bytes; -1: not measuring
    private long _rateBytes;                      // body bytes received since _rateStart
    internal int RegistryIndex = -1;              // position in HttpServerCore's connection list

    public HttpConnection(HttpServerCore core)
    {
        _core = core;
        _bodyWaiters = new ParkingLot(this);
        _writeWaiters = new ParkingLot(this);
    }

    public HttpServerCore Core => _core;

    public EndPoint? RemoteAddress => _transport.GetExtraInfo("peername") as EndPoint;

    public string Scheme => _transport.GetExtraInfo("sslstream") is null ? "http" : "https";

    public bool IsIdle => _state == State.Idle;

    public bool HasRequest => _state is State.Request;

    // ===================================================================== protocol callbacks

    public void ConnectionMade(ITransport transport)
    {
        _transport = transport;
        if (!_core.Register(this))
        {
            _state = State.Closed;
            transport.Abort();
            return;
        }
        _state = State.Idle;
        _deadline = _core.Loop.Time() + _core.Limits.RequestHeadersTimeout;
    }

    public Memory<byte> GetBuffer(int sizeHint)
    {
        if (_buf.Length == 0)
        {
            _buf = _core.RentBuffer();
        }
        if (_dataEnd == _buf.Length)
        {
            MakeRoom();
        }
        return _buf.AsMemory(_dataEnd);
    }

    public void BufferUpdated(int bytes)
    {
        _dataEnd += bytes;
        switch (_state)
        {
            case State.Idle:
            case State.Head:
                TryStartRequest();
                break;
            case State.Request:
                if (_rateStart >= 0)
                {
                    _rateBytes += bytes;
                }
                if (_bodyWaiters.Count > 0)
                {
                    _bodyWaiters.UnparkAll();
                }
                PauseReadingIfFull();
                break;
            case State.Draining:
                Drain();
                break;
            default:
                _dataStart = _dataEnd;   // closed: ignore what still arrives
                break;
        }
    }

    public bool EofReceived()
    {
        _eof = true;
        if (_state == State.Request)
        {
            // Half-close: the client sent its requests and waits for the answers. Keep writing; every complete request
            // already received is still answered, in order, and the connection closes after the last (NextRequest).
            if (!_responseStarted && NothingBufferedAfterRequest())
            {
                _closeAfterResponse = true;
            }
            _bodyWaiters.UnparkAll();
            return true;
        }
        // Idle with pipelined requests held back until the client reads its answers: they are still served.
        return _state == State.Idle && _waitingForDrain && _dataEnd > _dataStart;
    }

    /// <summary>Whether no byte after the current request's body has arrived (so no pipelined request follows it yet).</summary>
    private bool NothingBufferedAfterRequest() =>
        _head.Chunked ? _bodyDone && _dataEnd == _dataStart : _dataEnd - _dataStart <= _bodyRemaining;

    public void ConnectionLost(Exception? exception)
    {
        State was = _state;
        _state = State.Closed;
        _core.Unregister(this);
        if (was == State.Request)
        {
            // The handler (or its streamed response) still runs: nothing accepted is lost silently.
            _core.Log.RequestCutOff(_request?.ToString() ?? "", exception?.Message ?? "the client disconnected");
            CancelRequest("The client disconnected.");
        }
        _bodyWaiters.UnparkAll();
        _writeWaiters.UnparkAll();
        if (was != State.Request)
        {
            ReleaseBuffer(force: true);
        }
    }

    public void PauseWriting() => _writePaused = true;

    public void ResumeWriting()
    {
        _writePaused = false;
        _writeWaiters.UnparkAll();
        if (_waitingForDrain && _state == State.Idle)
        {
            _waitingForDrain = false;
            ServeBuffered();
        }
    }

    /// <summary>The buffer's invariants, checked at each state change in Debug builds.</summary>
    [Conditional("DEBUG")]
    private void AssertInvariants()
    {
        Debug.Assert(0 <= _dataStart && _dataStart <= _dataEnd && _dataEnd <= _buf.Length,
            $"The unconsumed bytes [{_dataStart}, {_dataEnd}) must lie inside the {_buf.Length}-byte buffer.");
        Debug.Assert(_state is not (State.Request or State.Draining) || _dataStart >= _head.HeadLength,
            "While a request is current its head stays at the front of the buffer, before every unconsumed byte.");
        Debug.Assert(_state != State.Request || _request is not null, "A connection in state Request has its Request.");
        Debug.Assert(_state != State.Idle || _dataStart == _dataEnd || _dataEnd - _dataStart == 1,
            "An idle connection holds no unconsumed bytes (but a lone CR of an empty line).");
    }

    // ===================================================================== head

    private void TryStartRequest()
    {
        if (_state == State.Idle)
        {
            // RFC 9112 §2.2: ignore empty lines before a request line.
            while (_dataEnd - _dataStart >= 2 && _buf[_dataStart] == '\r' && _buf[_dataStart + 1] == '\n')
            {
                _dataStart += 2;
            }
            if (_dataEnd == _dataStart || (_dataEnd - _dataStart == 1 && _buf[_dataStart] == '\r'))
            {
                CompactIdle();
                return;
            }
            _state = State.Head;
            _scanPos = _lineStart = _dataStart;
            _headersStart = -1;
            _fieldCount = 0;
            _deadline = _core.Loop.Time() + _core.Limits.RequestHeadersTimeout;
        }
        HttpError error = ScanHead(out int headLength);
        if (error.IsError)
        {
            Reject(error);
            return;
        }
        if (headLength == 0)
        {
            return;   // incomplete; GetBuffer makes room up to the limits
        }
        if (_dataStart > 0)
        {
            // The head must start at 0: it stays in place while its request is current.
            int n = _dataEnd - _dataStart;
            Buffer.BlockCopy(_buf, _dataStart, _buf, 0, n);
            _dataStart = 0;
            _dataEnd = n;
        }
        error = HttpParser.ParseHead(_buf, headLength, _head);
        if (error.IsError)
        {
            Reject(error);
            return;
        }
        _dataStart = headLength;
        StartRequest();
    }

    /// <summary>Finds the end of the head, checking the limits line by line as the bytes arrive; headLength 0: incomplete.</summary>
    private HttpError ScanHead(out int headLength)
    {
        HttpLimits limits = _core.Limits;
        headLength = 0;
        while (true)
        {
            int lf = _buf.AsSpan(_scanPos, _dataEnd - _scanPos).IndexOf((byte)'\n');
            if (lf < 0)
            {
                _scanPos = _dataEnd;
                // An incomplete line: reject only if every completion would be over the limit (one more byte may be
                // the CR of the CRLF), so the verdict does not depend on where the bytes were split.
                if (_headersStart < 0)
                {
                    if (_dataEnd - _lineStart > limits.MaxRequestLineSize + 1)
                    {
                        return new HttpError(414, "request line too long");
                    }
                }
                else if (_dataEnd - _headersStart > limits.MaxRequestHeadersTotalSize)
                {
                    return new HttpError(431, "header section too large");
                }
                return default;
            }
            int end = _scanPos + lf + 1;   // just after the LF
            int content = end - 1 - _lineStart;
            if (content > 0 && _buf[end - 2] == '\r')
            {
                content--;
            }
            if (_headersStart < 0)
            {
                if (content > limits.MaxRequestLineSize)
                {
                    return new HttpError(414, "request line too long");
                }
                _headersStart = end;
            }
            else
            {
                if (end - _headersStart > limits.MaxRequestHeadersTotalSize)
                {
                    return new HttpError(431, "header section too large");
                }
                if (content == 0)
                {
                    headLength = end - _dataStart;
                    return default;
                }
                if (++_fieldCount > limits.MaxRequestHeaderCount)
                {
                    return new HttpError(431, "too many header fields");
                }
            }
            _lineStart = _scanPos = end;
        }
    }

    /// <summary>Answers a bad head (or an over-limit one) with its status and closes the connection.</summary>
    private void Reject(HttpError error)
    {
        _core.Log.BadRequest(error.Status, error.Reason, RemoteAddress?.ToString() ?? "-");
        _state = State.Closed;
        _dataStart = _dataEnd;
        WriteSimpleResponse(error.Status, StatusLines.Reason(error.Status));
        _transport.Close();
    }

    private void WriteSimpleResponse(int status, string text)
    {
        var r = Response.Text(text, status);
        _closeAfterResponse = true;
        _head.Method = "";
        _head.Version = 11;
        WriteFixedResponse(r, isHead: false);
    }

    private void StartRequest()
    {
        HttpLimits limits = _core.Limits;
        _state = State.Request;
        _deadline = double.PositiveInfinity;
        _maxBody = limits.MaxRequestBodySize;
        _bodyRead = 0;
        _drained = 0;
        _bodyBroken = false;
        _bodyError = null;
        _continueSent = false;
        _responseStarted = false;
        _rateStart = -1;
        _rateBytes = 0;
        if (_head.Chunked)
        {
            _chunked = default;
            _bodyDone = false;
        }
        else
        {
            _bodyRemaining = Math.Max(0, _head.ContentLength);
            _bodyDone = _bodyRemaining == 0;
        }
        // After a half-close the last buffered request's answer says Connection: close.
        _closeAfterResponse = !_head.KeepAlive || _core.IsShuttingDown || (_eof && NothingBufferedAfterRequest());
        if (_head.ContentLength > _maxBody)
        {
            // Before the handler and before any 100 Continue: the client must not send a body that is refused.
            Reject(new HttpError(413, "declared Content-Length over the body limit"));
            return;
        }
        _request = new Request(this, _head, _generation);
        _bodySent = 0;
        if (_core.Log.AccessEnabled)
        {
            _accessStart = _core.Loop.Time();
        }
        AssertInvariants();
        PauseReadingIfFull();
        _core.Tasks.Start(this);
    }

    // ===================================================================== the handler task

    /// <summary>The body of a request's task: runs the application in the request's cancel scope, then ends the request.</summary>
    public async AioTask<bool> RunAsync()
    {
        await RunRequestAsync();
        return true;
    }

    private async ValueTask RunRequestAsync()
    {
        var scope = new CancelScope();
        _scope = scope;
        long started = Stopwatch.GetTimestamp();
        Request request = _request!;
        HttpMetrics.RequestStarted(request.Method);
        Activity? activity = HttpMetrics.StartActivity(request);
        int status = 0;
        try
        {
            status = await scope.RunAsync(_invoke ??= InvokeAsync, 0);
        }
        catch (Exception e)
        {
            // The application's errors are answered inside InvokeAsync; this is the connection's own failure.
            _core.Log.ConnectionError(request.ToString(), e);
            _closeAfterResponse = true;
        }
        finally
        {
            _scope = null;
        }
        if (scope.CancelledCaught && _state == State.Request)
        {
            // Cut off by the shutdown's end of grace: nothing more can be said on this connection.
            _core.Log.RequestCutOff(request.ToString(), "the shutdown grace period ended");
            _closeAfterResponse = true;
        }
        HttpMetrics.RequestDone(request, activity, status, started);
        EndRequest();
    }

    /// <summary>Runs the application's chain and writes its response (or the error response); returns the status.</summary>
    public async Task<int> InvokeAsync()
    {
        Request request = _request!;
        Response response;
        try
        {
            response = await _core.Pipeline(request);
        }
        catch (HttpException e)
        {
            if (e.CloseConnection)
            {
                _closeAfterResponse = true;
            }
            response = e.ToResponse();
        }
        catch (OperationCanceledException) when (_scope?.CancelCalled == true || _state != State.Request)
        {
            throw;
        }
        catch (Exception e)
        {
            _core.Log.HandlerFailed(request.ToString(), e);
            if (_responseStarted)
            {
                _transport.Abort();
                return 500;
            }
            response = _core.Debug ? Response.Text(e.ToString(), 500) : Response.Text("500 Internal Server Error", 500);
        }
        if (_state != State.Request)
        {
            return response.StatusCode;   // the client is gone
        }
        if (response.Kind == Response.BodyKind.File)
        {
            response = response.ResolveFile(request);   // 200, 206, 304, 412, 416 or 404: the status logged is the one sent
        }
        await WriteResponseAsync(response);
        if (_core.Log.AccessEnabled)
        {
            _core.Log.Access(request.Method, request.RawTarget, response.StatusCode, RemoteAddress?.ToString() ?? "-",
                _bodySent, Math.Round((_core.Loop.Time() - _accessStart) * 1000, 3));
        }
        return response.StatusCode;
    }

    private void EndRequest()
    {
        _generation++;
        _request = null;
        if (_abortedCts is not null)
        {
            _abortedCts.Dispose();
            _abortedCts = null;
        }
        if (_state != State.Request)
        {
            ReleaseBuffer(force: true);     // lost while the handler ran
            return;
        }
        if (_closeAfterResponse || _bodyBroken)
        {
            _state = State.Closed;
            _transport.Close();
            return;
        }
        if (!_bodyDone)
        {
            _state = State.Draining;
            _deadline = _core.Loop.Time() + _core.Limits.RequestHeadersTimeout;
            AssertInvariants();
            Drain();
            return;
        }
        NextRequest();
    }

    private void NextRequest()
    {
        _state = State.Idle;
        _head.HeadLength = 0;
        _deadline = _core.Loop.Time() + _core.Limits.KeepAliveTimeout;
        if (_writePaused)
        {
            // The client does not read its responses: serve no more pipelined requests (their answers would pile up
            // in the write buffer) and stop reading until it drains. ResumeWriting goes on.
            _waitingForDrain = true;
            if (!_readPaused)
            {
                _readPaused = true;
                _transport.PauseReading();
            }
            return;
        }
        ServeBuffered();
    }

    /// <summary>Serves the next buffered request, if complete; after the client's half-close nothing more can come, so the connection closes once none is left.</summary>
    private void ServeBuffered()
    {
        ResumeReading();
        TryStartRequest();
        if (_eof && _state is State.Idle or State.Head)
        {
            _state = State.Closed;
            _transport.Close();
            return;
        }
        AssertInvariants();
    }

    private void Drain()
    {
        try
        {
            DecodeBody(default, discard: true);
        }
        catch (HttpException)
        {
            _state = State.Closed;
            _transport.Close();
            return;
        }
        if (_bodyDone)
        {
            NextRequest();
        }
        else
        {
            ResumeReading();
        }
    }

    // ===================================================================== request body

    public bool IsCurrent(int generation) => generation == _generation && _request is not null;

    public long? MaxBodySize
    {
        get => _maxBody;
        set
        {
            if (value < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "The body size limit cannot be negative; use null for none.");
            }
            _maxBody = value;
        }
    }

    public CancellationToken RequestAborted(int generation)
    {
        if (!IsCurrent(generation))
        {
            return new CancellationToken(true);
        }
        _abortedCts ??= new CancellationTokenSource();
        if (_state != State.Request)
        {
            _abortedCts.Cancel();
        }
        return _abortedCts.Token;
    }

    public async ValueTask<int> ReadBodyAsync(Memory<byte> destination, int generation)
    {
        if (!IsCurrent(generation))
        {
            HttpThrowHelper.RequestFinished(_head.Method);
        }
        if (_readingBody)
        {
            HttpThrowHelper.ConcurrentBodyRead();
        }
        _readingBody = true;
        try
        {
            while (true)
            {
                if (_bodyError is not null)
                {
                    throw _bodyError;
                }
                if (_bodyDone || destination.Length == 0)
                {
                    return 0;
                }
                int got = DecodeBody(destination.Span, discard: false);
                if (got > 0)
                {
                    return got;
                }
                if (_bodyDone)
                {
                    return 0;
                }
                if (_state != State.Request)
                {
                    Checkpoint.ThrowIfCancelled();
                    HttpThrowHelper.ClientDisconnected();
                }
                if (_eof)
                {
                    _bodyBroken = true;
                    throw new HttpException(400, "The client ended the connection before the whole request body.") { CloseConnection = true };
                }
                if (_head.ExpectContinue && !_continueSent && !_responseStarted && _bodyRead == 0)
                {
                    _continueSent = true;
                    _transport.Write(s_continue);
                }
                if (_rateStart < 0)
                {
                    _rateStart = _core.Loop.Time();
                    _rateBytes = 0;
                }
                ResumeReading();
                await _bodyWaiters.ParkAsync();
            }
        }
        finally
        {
            _readingBody = false;
        }
    }

    /// <summary>Moves body bytes from the buffer to <paramref name="destination"/> (or discards them); returns how many.</summary>
    private int DecodeBody(Span<byte> destination, bool discard)
    {
        int available = _dataEnd - _dataStart;
        int produced;
        if (!_head.Chunked)
        {
            long n = Math.Min(available, _bodyRemaining);
            if (!discard)
            {
                n = Math.Min(n, destination.Length);
                _buf.AsSpan(_dataStart, (int)n).CopyTo(destination);
            }
            produced = (int)n;
            _dataStart += produced;
            _bodyRemaining -= produced;
            _bodyDone = _bodyRemaining == 0;
        }
        else
        {
            long room = _maxBody is long max ? Math.Max(0, max - _bodyRead) + 1 : long.MaxValue;
            HttpError error = _chunked.Decode(_buf.AsSpan(_dataStart, available), destination, discard, room, _core.Limits, out int consumed, out produced);
            if (error.IsError)
            {
                _bodyBroken = true;
                throw new HttpException(error.Status, $"Malformed request body: {error.Reason}.") { CloseConnection = true };
            }
            _dataStart += consumed;
            _bodyDone = _chunked.IsDone;
        }
        _bodyRead += produced;
        if (discard)
        {
            _drained += produced;
            if (_drained > _core.Limits.MaxDrainSize)
            {
                _bodyBroken = true;
                throw new HttpException(413, "Too much unread body to drain.") { CloseConnection = true };
            }
        }
        else if (_bodyRead > _maxBody)
        {
            _bodyBroken = true;
            throw new HttpException(413, "The request body is larger than the limit.") { CloseConnection = true };
        }
        if (_dataStart == _dataEnd)
        {
            _dataStart = _dataEnd = _head.HeadLength;
        }
        if (produced > 0 || _bodyDone)
        {
            ResumeReading();
        }
        return produced;
    }

    // ===================================================================== response

    private async ValueTask WriteResponseAsync(Response response)
    {
        bool isHead = _head.Method == "HEAD";
        if (!_bodyDone && !_bodyBroken)
        {
            // The handler did not read the whole body. Without a 100 Continue the client may never send it; otherwise
            // drain a bounded rest after the response, or close.
            // A chunked rest of unknown size is drained up to MaxDrainSize too (Drain closes beyond it).
            long rest = _head.Chunked ? 0 : _bodyRemaining;
            if ((_head.ExpectContinue && !_continueSent && _bodyRead == 0) || rest > _core.Limits.MaxDrainSize)
            {
                _closeAfterResponse = true;
            }
        }
        if (_core.IsShuttingDown)
        {
            _closeAfterResponse = true;
        }
        if (response.Kind == Response.BodyKind.Upgrade)
        {
            await UpgradeAsync(response);
            return;
        }
        if (response.Kind != Response.BodyKind.Stream)
        {
            WriteFixedResponse(response, isHead);
            return;
        }
        await WriteStreamResponseAsync(response, isHead);
    }

    /// <summary>Writes a head (and a body that is in memory) with one transport write.</summary>
    private void WriteFixedResponse(Response response, bool isHead)
    {
        int status = response.StatusCode;
        bool bodyAllowed = status >= 200 && status != 204 && status != 304;
        string? text = response.TextBody;
        int bodyLength = response.Kind switch
        {
            Response.BodyKind.Text => Encoding.UTF8.GetByteCount(text!),
            Response.BodyKind.Bytes => response.BytesBody.Length,
            _ => 0,
        };
        int size = HeadSize(response) + (isHead || !bodyAllowed ? 0 : bodyLength);
        byte[] rented = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            int n = WriteHead(rented, response, bodyAllowed ? bodyLength : -1, chunked: false);
            if (bodyAllowed && !isHead)
            {
                if (response.Kind == Response.BodyKind.Text)
                {
                    n += Encoding.UTF8.GetBytes(text!, rented.AsSpan(n));
                }
                else if (response.Kind == Response.BodyKind.Bytes)
                {
                    response.BytesBody.Span.CopyTo(rented.AsSpan(n));
                    n += bodyLength;
                }
                _bodySent = bodyLength;
            }
            _responseStarted = true;
            _transport.Write(rented.AsSpan(0, n));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private async ValueTask WriteStreamResponseAsync(Response response, bool isHead)
    {
        bool bodyAllowed = response.StatusCode >= 200 && response.StatusCode != 204 && response.StatusCode != 304;
        long? length = response.StreamLength;
        bool chunked = bodyAllowed && length is null && _head.Version == 11;
        if (bodyAllowed && length is null && _head.Version == 10)
        {
            _closeAfterResponse = true;   // HTTP/1.0 without a length: the body ends with the connection
        }
        byte[] rented = ArrayPool<byte>.Shared.Rent(HeadSize(response));
        try
        {
            int n = WriteHead(rented, response, bodyAllowed && length is long l ? l : -1, chunked);
            _responseStarted = true;
            _transport.Write(rented.AsSpan(0, n));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
        var stream = new ResponseBodyWriter(this, chunked, isHead || !bodyAllowed, length);
        try
        {
            await response.StreamBody!(stream);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The head is out: the only way to tell the client is to end the connection without a proper end.
            _core.Log.HandlerFailed(_request?.ToString() ?? "", e);
            stream.Finished = true;
            _closeAfterResponse = true;
            _transport.Abort();
            return;
        }
        stream.Finished = true;
        if (chunked && !isHead && _state == State.Request)
        {
            _transport.Write("0\r\n\r\n"u8);
        }
        if (length is long declared && stream.Written != declared && !isHead)
        {
            _closeAfterResponse = true;   // the client waits for bytes that never come: end it
        }
    }

    /// <summary>
    /// Answers 101 and hands the connection over: the bytes already received after the head go with it, this
    /// connection stops reading and writing, and the connection closes when the taker returns.
    /// </summary>
    private async ValueTask UpgradeAsync(Response response)
    {
        byte[] rented = ArrayPool<byte>.Shared.Rent(HeadSize(response));
        try
        {
            int n = WriteHead(rented, response, -1, chunked: false);
            _responseStarted = true;
            _transport.Write(rented.AsSpan(0, n));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
        byte[] received = _buf.AsSpan(_dataStart, _dataEnd - _dataStart).ToArray();
        _dataStart = _dataEnd;
        _state = State.Upgraded;     // stays registered: a shutdown's end still cancels the request's scope
        ResumeReading();
        _upgraded = new UpgradedConnection(_transport, received, UpgradedLost);
        try
        {
            await response.UpgradeBody!(_upgraded);
        }
        finally
        {
            _transport.Close();
        }
    }

    /// <summary>Writes body bytes of a streamed response and waits while the client does not read.</summary>
    internal async ValueTask WriteBodyAsync(ResponseBodyWriter stream, ReadOnlyMemory<byte> data)
    {
        if (_state != State.Request)
        {
            Checkpoint.ThrowIfCancelled();
            HttpThrowHelper.ClientDisconnected();
        }
        if (data.Length > 0 && !stream.SuppressBody)
        {
            if (stream.Chunked)
            {
                byte[] rented = ArrayPool<byte>.Shared.Rent(data.Length + 20);
                try
                {
                    Utf8Formatter.TryFormat((ulong)data.Length, rented, out int n, new StandardFormat('X'));
                    rented[n++] = (byte)'\r';
                    rented[n++] = (byte)'\n';
                    data.Span.CopyTo(rented.AsSpan(n));
                    n += data.Length;
                    rented[n++] = (byte)'\r';
                    rented[n++] = (byte)'\n';
                    _transport.Write(rented.AsSpan(0, n));
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(rented);
                }
            }
            else
            {
                _transport.Write(data.Span);
            }
            _bodySent += data.Length;
        }
        while (_writePaused && _state == State.Request)
        {
            await _writeWaiters.ParkAsync();
        }
    }

    /// <summary>
    /// Sends a range of a file as (part of) a streamed body of known length: the loop's SendFileAsync (sendfile(2)) on a
    /// plain socket, else 64 KiB blocks through <see cref="WriteBodyAsync"/> (TLS, the in-memory transport).
    /// </summary>
    internal async ValueTask SendFileBodyAsync(ResponseBodyWriter stream, Microsoft.Win32.SafeHandles.SafeFileHandle file, long offset, long count)
    {
        if (_state != State.Request)
        {
            Checkpoint.ThrowIfCancelled();
            HttpThrowHelper.ClientDisconnected();
        }
        if (stream.SuppressBody || count == 0)
        {
            return;
        }
        long sent;
        string mode;
        if (!stream.Chunked && _transport.CanSendFile())
        {
            mode = "sendfile";
            try
            {
                sent = await _core.Loop.SendFileAsync(_transport, file, offset, count);
                _bodySent += sent;   // the copy below counts in WriteBodyAsync
            }
            catch (IOException) when (_transport.IsClosing)
            {
                // The client went away: wait for ConnectionLost, which cancels the request's scope (as a streamed write does).
                while (_state == State.Request)
                {
                    await _writeWaiters.ParkAsync();
                }
                throw;
            }
            while (_writePaused && _state == State.Request)
            {
                await _writeWaiters.ParkAsync();
            }
        }
        else
        {
            mode = "copy";
            sent = 0;
            byte[] block = ArrayPool<byte>.Shared.Rent((int)Math.Min(count, 64 * 1024));
            try
            {
                while (sent < count)
                {
                    int n = RandomAccess.Read(file, block.AsSpan(0, (int)Math.Min(block.Length, count - sent)), offset + sent);
                    if (n == 0)
                    {
                        break;
                    }
                    sent += n;
                    await WriteBodyAsync(stream, block.AsMemory(0, n));
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(block);
            }
        }
        if (sent != count)
        {
            // The file shrank after its length was announced: the client would wait for bytes that never come.
            throw new IOException($"The file being sent for {_request} ended after {sent} of {count} bytes (it changed while it was served); the connection is closed.");
        }
        if (_core.Log.StaticEnabled)
        {
            _core.Log.FileSent(_request?.ToString() ?? "", sent, mode);
        }
    }

    private static int HeadSize(Response response)
    {
        int size = 256 + (response.ContentType?.Length ?? 0);
        if (response.HeadersOrNull is ResponseHeaders h)
        {
            foreach (KeyValuePair<string, string> f in h.Fields)
            {
                size += f.Key.Length + f.Value.Length + 4;
            }
        }
        return size;
    }

    /// <summary>Writes the status line and header fields; <paramref name="contentLength"/> -1 writes none.</summary>
    private int WriteHead(byte[] buffer, Response response, long contentLength, bool chunked)
    {
        Span<byte> b = buffer;
        int n = 0;
        Append(b, ref n, StatusLines.Line(response.StatusCode));
        Append(b, ref n, _core.DateHeader());
        if (response.ContentType is string type)
        {
            Append(b, ref n, type switch
            {
                Response.TextPlain => "Content-Type: text/plain; charset=utf-8\r\n"u8,
                Response.ApplicationJson => "Content-Type: application/json; charset=utf-8\r\n"u8,
                _ => default,
            });
            if (type is not (Response.TextPlain or Response.ApplicationJson))
            {
                Append(b, ref n, "Content-Type: "u8);
                n += Encoding.Latin1.GetBytes(type, b[n..]);
                Append(b, ref n, "\r\n"u8);
            }
        }
        if (contentLength >= 0)
        {
            Append(b, ref n, "Content-Length: "u8);
            Utf8Formatter.TryFormat(contentLength, b[n..], out int w);
            n += w;
            Append(b, ref n, "\r\n"u8);
        }
        else if (chunked)
        {
            Append(b, ref n, "Transfer-Encoding: chunked\r\n"u8);
        }
        if (response.HeadersOrNull is ResponseHeaders headers)
        {
            foreach (KeyValuePair<string, string> f in headers.Fields)
            {
                n += Encoding.Latin1.GetBytes(f.Key, b[n..]);
                Append(b, ref n, ": "u8);
                n += Encoding.Latin1.GetBytes(f.Value, b[n..]);
                Append(b, ref n, "\r\n"u8);
            }
        }
        if (response.StatusCode == 101)
        {
            // The Upgrade response carries its own Connection: Upgrade.
        }
        else if (_closeAfterResponse)
        {
            Append(b, ref n, "Connection: close\r\n"u8);
        }
        else if (_head.Version == 10)
        {
            Append(b, ref n, "Connection: keep-alive\r\n"u8);
        }
        Append(b, ref n, "\r\n"u8);
        return n;
    }

    private static void Append(Span<byte> b, ref int n, ReadOnlySpan<byte> s)
    {
        s.CopyTo(b[n..]);
        n += s.Length;
    }

    // ===================================================================== buffer and flow control

    /// <summary>The buffer is full: move unconsumed bytes down, or grow it within the limits.</summary>
    private void MakeRoom()
    {
        int floor = _state is State.Request or State.Draining ? _head.HeadLength : 0;
        if (_state == State.Head)
        {
            floor = 0;
        }
        if (_dataStart > floor)
        {
            int n = _dataEnd - _dataStart;
            Buffer.BlockCopy(_buf, _dataStart, _buf, floor, n);
            if (_state == State.Head)
            {
                int shift = _dataStart - floor;
                _scanPos -= shift;
                _lineStart -= shift;
                if (_headersStart >= 0)
                {
                    _headersStart -= shift;
                }
            }
            _dataStart = floor;
            _dataEnd = floor + n;
            if (_dataEnd < _buf.Length)
            {
                return;
            }
        }
        // Grow: a head may need up to the limits; a request's body bytes need some room behind its head. The scan
        // rejects a head over the limits before the buffer passes them, and reading pauses when a request's buffer
        // is full, so this stays bounded.
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buf.Length * 2, HttpServerCore.BufferSize));
        Buffer.BlockCopy(_buf, 0, bigger, 0, _dataEnd);
        _core.ReturnBuffer(_buf);
        _buf = bigger;
        if (_request is not null)
        {
            _head.Buffer = bigger;
        }
    }

    private void PauseReadingIfFull()
    {
        // Room behind the data, or room to be made by moving it down to the floor: keep reading.
        int floor = _head.HeadLength;
        int free = _buf.Length - _dataEnd + (_dataStart - floor);
        int maxBuffer = Math.Max(_core.Limits.MaxHeadSize, floor + HttpServerCore.BufferSize);
        if (free > 0 || _buf.Length < maxBuffer)
        {
            return;
        }
        if (!_readPaused)
        {
            _readPaused = true;
            _transport.PauseReading();
        }
    }

    private void ResumeReading()
    {
        if (_readPaused && _state != State.Closed)
        {
            _readPaused = false;
            _transport.ResumeReading();
        }
    }

    /// <summary>Between requests: move a pipelined rest to the front, or give the buffer back when empty.</summary>
    private void CompactIdle()
    {
        if (_dataEnd == _dataStart)
        {
            _dataStart = _dataEnd = 0;
            ReleaseBuffer();
        }
    }

    private void ReleaseBuffer(bool force = false)
    {
        if (_buf.Length > 0 && _request is null && (force || _dataStart == _dataEnd))
        {
            _core.ReturnBuffer(_buf);
            _buf = [];
            _dataStart = _dataEnd = 0;
        }
    }

    // ===================================================================== timeouts and shutdown

    /// <summary>Called by the server's heartbeat once a second.</summary>
    public void OnHeartbeat(double now)
    {
        switch (_state)
        {
            case State.Idle when now >= _deadline:
                _state = State.Closed;
                _transport.Close();
                break;
            case State.Head when now >= _deadline:
                Reject(new HttpError(408, "request headers timeout"));
                break;
            case State.Draining when now >= _deadline:
                _state = State.Closed;
                _transport.Close();
                break;
            case State.Request when _rateStart >= 0 && _bodyWaiters.Count > 0 && _core.Limits.MinRequestBodyDataRate is double minRate:
                double elapsed = now - _rateStart;
                if (elapsed > _core.Limits.MinRequestBodyDataRateGracePeriod && _rateBytes < minRate * elapsed)
                {
                    _bodyBroken = true;
                    _bodyError = new HttpException(408, "The request body arrived too slowly.") { CloseConnection = true };
                    _bodyWaiters.UnparkAll();
                }
                break;
        }
    }

    /// <summary>The server began its graceful shutdown: idle connections close now, busy ones after their response.</summary>
    public void OnShutdown()
    {
        if (_state is State.Idle or State.Draining)
        {
            _state = State.Closed;
            _transport.Close();
        }
        else if (_state == State.Upgraded)
        {
            _upgraded?.OnShutdown?.Invoke();      // a WebSocket says 1001 going away
        }
        else
        {
            _closeAfterResponse = true;
            ShutdownHook?.Invoke();
        }
    }

    /// <summary>The protocol that took the connection over lost it: leave the registry and cancel the request's scope.</summary>
    private void UpgradedLost(bool cancel)
    {
        _state = State.Closed;
        _core.Unregister(this);
        if (cancel)
        {
            CancelRequest("The client disconnected.");
        }
    }

    /// <summary>The end of a shutdown: closes the connection whatever its state.</summary>
    public void CloseForShutdown()
    {
        if (_state != State.Closed || !_transport.IsClosing)
        {
            _state = State.Closed;
            _transport.Close();
        }
    }

    /// <summary>Cancels the running request's scope (client gone, or the shutdown's grace is over).</summary>
    public void CancelRequest(string message)
    {
        _scope?.Cancel(message);
        _abortedCts?.Cancel();
    }

    public override string ToString() => $"<HttpConnection {_state} {RemoteAddress}>";
}
