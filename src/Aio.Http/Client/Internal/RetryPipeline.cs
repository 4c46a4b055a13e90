// RetryPipeline: a session's retries, by Polly.
//
// Design note. Polly's retry strategy runs the whole request (its redirects included) again; what the session adds is
// the loop: the pipeline's TimeProvider is the loop's, so back-off delays are loop timers (virtual time in tests), and
// every execution uses a ResilienceContext with ContinueOnCapturedContext = true — Polly's default (false) would resume
// after a delay on the thread pool, and the next attempt would run off the loop. The ambient scope's token is the
// context's: a cancellation during a back-off ends it at once. A response that is retried is disposed first (its place
// in the limits and its connection are given back).
using System.Net;
using Aio.LowLevel;
using Polly;
using Polly.Retry;

namespace Aio.Http.Client.Internal;

internal sealed class RetryPipeline
{
    private readonly ResiliencePipeline<ClientResponse> _pipeline;
    private readonly ClientRetryOptions _options;

    public RetryPipeline(EventLoop loop, ClientRetryOptions options)
    {
        _options = options;
        _pipeline = new ResiliencePipelineBuilder<ClientResponse> { TimeProvider = loop.TimeProvider }
            .AddRetry(new RetryStrategyOptions<ClientResponse>
            {
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                Delay = options.BaseDelay,
                MaxDelay = options.MaxDelay,
                UseJitter = options.UseJitter,
                ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Outcome)),
                DelayGenerator = args => ValueTask.FromResult(RetryAfter(args.Outcome.Result)),
                OnRetry = args =>
                {
                    args.Outcome.Result?.ReleaseNow();
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    public bool Applies(HttpMethod method) => _options.Methods.Contains(method.Method);

    public async Task<ClientResponse> ExecuteAsync(Func<Task<ClientResponse>> attempt)
    {
        ResilienceContext context = ResilienceContextPool.Shared.Get(continueOnCapturedContext: true, Asyncio.CurrentToken);
        try
        {
            return await _pipeline.ExecuteAsync(static async (_, attempt) => await attempt(), context, attempt);
        }
        catch (OperationCanceledException e) when (e is not CancelledError && Checkpoint.IsCancelled)
        {
            Checkpoint.ThrowIfCancelled();                 // cancelled during a back-off: the scope's own error
            throw;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private bool ShouldRetry(Polly.Outcome<ClientResponse> outcome) => outcome switch
    {
        { Exception: ClientTimeoutException t } => t.Kind is ClientTimeoutKind.Connect or ClientTimeoutKind.SocketConnect or ClientTimeoutKind.Read,
        { Exception: TooManyRedirectsException } => false,
        { Exception: HttpRequestException { StatusCode: null } } => !Checkpoint.IsCancelled,
        { Result: { } response } => _options.RetryOnStatus.Contains(response.Status),
        _ => false,
    };

    private TimeSpan? RetryAfter(ClientResponse? response)
    {
        if (!_options.RespectRetryAfter || response?.Headers.RetryAfter is not { } retryAfter)
        {
            return null;
        }
        TimeSpan? delay = retryAfter.Delta ?? (retryAfter.Date is DateTimeOffset date ? date - DateTimeOffset.UtcNow : null);
        if (delay is not TimeSpan d)
        {
            return null;
        }
        return d < TimeSpan.Zero ? TimeSpan.Zero : d > _options.MaxDelay ? _options.MaxDelay : d;
    }
}
