namespace Aio.Polling;

/// <summary>Creates the poller back end a loop asks for, or this OS's default.</summary>
internal static class PollerFactory
{
    /// <summary>Name of the Linux epoll back end (<see cref="EpollPoller"/>).</summary>
    public const string Epoll = "epoll";

    /// <summary>Name of the back end for any OS (<see cref="PortablePoller"/>).</summary>
    public const string Portable = "portable";

    /// <summary>The environment variable that picks the back end when the caller does not.</summary>
    public const string EnvironmentVariable = "AIO_POLLER";

    /// <summary>
    /// Creates a poller. <paramref name="backend"/> ("epoll" or "portable", case-insensitive) wins;
    /// when it is null the AIO_POLLER environment variable decides; when that is unset or empty,
    /// epoll on Linux and portable elsewhere.
    /// </summary>
    /// <param name="errorSink">Receives the exceptions thrown by I/O handlers, with the handler.</param>
    /// <param name="backend">The back end's name, or null for the default.</param>
    /// <exception cref="ArgumentException">The name (argument or environment) is not a back end.</exception>
    /// <exception cref="PlatformNotSupportedException">epoll was asked for on an OS other than Linux.</exception>
    public static IPoller Create(Action<Exception, IIoHandler> errorSink, string? backend = null)
    {
        ArgumentNullException.ThrowIfNull(errorSink);
        string name = ResolveName(backend, Environment.GetEnvironmentVariable(EnvironmentVariable));
        if (name == Portable)
        {
            return new PortablePoller(errorSink);
        }

        return OperatingSystem.IsLinux() ? new EpollPoller(errorSink) : PollerThrowHelper.EpollNeedsLinux();
    }

    /// <summary>
    /// The canonical back-end name for an explicit <paramref name="backend"/> or, when that is null,
    /// the value of the environment variable (<paramref name="environmentValue"/>); the OS default
    /// when both are null or empty. Pure, so tests need not change the process environment.
    /// </summary>
    /// <exception cref="ArgumentException">The chosen name is not a back end.</exception>
    internal static string ResolveName(string? backend, string? environmentValue)
    {
        bool fromEnvironment = backend is null;
        string? name = backend ?? environmentValue;
        if (fromEnvironment && string.IsNullOrWhiteSpace(name))
        {
            return OperatingSystem.IsLinux() ? Epoll : Portable;
        }

        string trimmed = name!.Trim();
        if (trimmed.Equals(Epoll, StringComparison.OrdinalIgnoreCase))
        {
            return Epoll;
        }

        if (!trimmed.Equals(Portable, StringComparison.OrdinalIgnoreCase))
        {
            PollerThrowHelper.UnknownBackEnd(name, fromEnvironment);
        }

        return Portable;
    }
}
