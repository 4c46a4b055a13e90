using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Aio.Hosting;

/// <summary>Registers an Aio event loop with a .NET Generic Host.</summary>
public static class AioHostingExtensions
{
    /// <summary>
    /// Runs <paramref name="main"/> on an Aio event loop with its own thread for as long as the host runs
    /// (<see cref="AioHostedService"/>). Host shutdown cancels the main task, then, after the host's shutdown timeout,
    /// every task. The service is also registered as itself, so other services can reach its <see cref="AioHostedService.Loop"/>.
    /// </summary>
    /// <param name="services">The host's service collection.</param>
    /// <param name="main">The main coroutine; it gets the application's services.</param>
    /// <param name="configure">Adjusts <see cref="AioLoopOptions"/>.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddAioLoop(this IServiceCollection services, Func<IServiceProvider, Task> main, Action<AioLoopOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(main);
        return Register(services, configure, (sp, options) => new AioHostedService(main, sp, options,
            sp.GetService<ILoggerFactory>(), sp.GetService<IHostApplicationLifetime>()));
    }

    /// <summary>
    /// Runs the coroutine <paramref name="main"/> on an Aio event loop with its own thread for as long as the host runs –
    /// <c>AddAioLoop(async services =&gt; { … })</c> binds here; see <see cref="AddAioLoop(IServiceCollection, Func{IServiceProvider, Task}, Action{AioLoopOptions}?)"/>.
    /// The lambda is an <c>async AioTask</c> coroutine and the loop's main task: every step of it runs on the loop, even after an await configured not to capture the context.
    /// </summary>
    /// <param name="services">The host's service collection.</param>
    /// <param name="main">Creates the main coroutine; it gets the application's services.</param>
    /// <param name="configure">Adjusts <see cref="AioLoopOptions"/>.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    [System.Runtime.CompilerServices.OverloadResolutionPriority(1)]
    public static IServiceCollection AddAioLoop(this IServiceCollection services, Func<IServiceProvider, AioTask> main, Action<AioLoopOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(main);
        return Register(services, configure, (sp, options) => new AioHostedService(main, sp, options,
            sp.GetService<ILoggerFactory>(), sp.GetService<IHostApplicationLifetime>()));
    }

    /// <summary>Registers the service built by <paramref name="create"/> as itself and as an <see cref="IHostedService"/>.</summary>
    private static IServiceCollection Register(IServiceCollection services, Action<AioLoopOptions>? configure,
        Func<IServiceProvider, AioLoopOptions, AioHostedService> create)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = new AioLoopOptions();
        configure?.Invoke(options);
        services.AddSingleton(sp => create(sp, options));
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<AioHostedService>());
        return services;
    }
}
