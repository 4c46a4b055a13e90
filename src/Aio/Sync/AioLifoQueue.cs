using System.Diagnostics;
using Aio.Sync.Internal;

namespace Aio;

/// <summary>A queue that gives the most recently put item first (asyncio's <c>LifoQueue</c>); otherwise like <see cref="AioQueue{T}"/>.</summary>
/// <typeparam name="T">The type of the items.</typeparam>
/// <remarks>A queue belongs to the loop it is created on (if created outside any loop: the first loop it is used on); use it on that loop's thread only.</remarks>
[DebuggerDisplay("{ToString(),nq}")]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711", Justification = "asyncio's name with the Aio prefix (docs/api-map.md).")]
public sealed class AioLifoQueue<T> : AioQueue<T>
{
    /// <summary>Creates a LIFO queue holding at most <paramref name="maxsize"/> items; 0 or less means unbounded.</summary>
    public AioLifoQueue(int maxsize = 0) : base(maxsize, new LifoStore<T>())
    {
    }

    private protected override string TypeLabel => "AioLifoQueue";
}
