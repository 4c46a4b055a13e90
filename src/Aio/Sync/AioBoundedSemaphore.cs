using System.Diagnostics;

namespace Aio;

/// <summary>
/// A semaphore whose <see cref="AioSemaphore.Release"/> refuses to raise the count above the initial value
/// (asyncio's <c>BoundedSemaphore</c>): an extra release is a bug, reported at once.
/// </summary>
/// <remarks>A bounded semaphore belongs to the loop it is created on (if created outside any loop: the first loop it is used on); use it on that loop's thread only.</remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class AioBoundedSemaphore : AioSemaphore
{
    /// <summary>Creates a bounded semaphore with <paramref name="value"/> free permits, which is also its bound.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> is negative.</exception>
    public AioBoundedSemaphore(int value = 1) : base(value, value)
    {
    }
}
