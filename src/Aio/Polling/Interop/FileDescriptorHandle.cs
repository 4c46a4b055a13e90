using System.Runtime.Versioning;
using Microsoft.Win32.SafeHandles;

namespace Aio.Polling.Interop;

/// <summary>
/// Owns a raw Linux file descriptor and closes it once no caller holds a reference
/// (<see cref="System.Runtime.InteropServices.SafeHandle.DangerousAddRef"/>). Used for the eventfd,
/// which other threads write to: a wake racing with Dispose must not write into a recycled number.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class FileDescriptorHandle : SafeHandleMinusOneIsInvalid
{
    /// <summary>Takes ownership of <paramref name="fd"/> (-1 makes an invalid handle).</summary>
    public FileDescriptorHandle(int fd)
        : base(ownsHandle: true)
    {
        SetHandle(fd);
    }

    /// <summary>The descriptor number; valid only while the handle is open.</summary>
    public int Fd => (int)handle;

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => LibC.close((int)handle) == 0;
}
