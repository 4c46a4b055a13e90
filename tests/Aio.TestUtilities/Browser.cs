using System.Diagnostics;
using PuppeteerSharp;

namespace Aio.TestUtilities;

/// <summary>
/// Headless Chromium for tests that need a real browser (WebSocket and EventSource clients, dashboards): Debian's
/// <c>chromium</c> package at <see cref="ExecutablePath"/>, driven by PuppeteerSharp, never downloaded. A test launches
/// it with <see cref="LaunchAsync"/> and ends it with <see cref="Kill"/> in a <c>finally</c>, which kills the process
/// tree whatever state the DevTools connection is in.
/// </summary>
public static class Browser
{
    /// <summary>Where Debian's chromium package puts the browser.</summary>
    public const string ExecutablePath = "/usr/bin/chromium";

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IBrowser, string> Profiles = new();

    /// <summary>
    /// Starts headless Chromium (<paramref name="executablePath"/>, by default <see cref="ExecutablePath"/>) with a fresh
    /// profile in a temporary directory, within <paramref name="timeout"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">Chromium is not installed: the message says how to install it.</exception>
    public static async Task<IBrowser> LaunchAsync(TimeSpan timeout, string executablePath = ExecutablePath)
    {
        if (!File.Exists(executablePath))
        {
            throw new InvalidOperationException(
                $"The browser tests need Chromium at {executablePath}, which does not exist. Install Debian's package: " +
                "'sudo apt-get update && sudo apt-get install -y chromium' (.ci/run does this when it is missing).");
        }
        string profile = Directory.CreateTempSubdirectory("aio-chromium-").FullName;
        try
        {
            IBrowser browser = await Puppeteer.LaunchAsync(new LaunchOptions
            {
                ExecutablePath = executablePath,
                Headless = true,
                UserDataDir = profile,
                Timeout = (int)timeout.TotalMilliseconds,
                // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
                Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check"],
            });
            Profiles.AddOrUpdate(browser, profile);
            return browser;
        }
        catch
        {
            TryDelete(profile);
            throw;
        }
    }

    /// <summary>
    /// Kills <paramref name="browser"/>'s process tree (no graceful close that could hang), waits for it to exit and
    /// removes its temporary profile. Null does nothing, so a <c>finally</c> can call it after a failed launch.
    /// </summary>
    public static void Kill(IBrowser? browser)
    {
        if (browser is null)
        {
            return;
        }
        Process? process = browser.Process;
        if (process is not null)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }
                process.WaitForExit(5000);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
        }
        browser.Dispose();
        if (Profiles.TryGetValue(browser, out string? profile))
        {
            TryDelete(profile);
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temporary profile is harmless.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
