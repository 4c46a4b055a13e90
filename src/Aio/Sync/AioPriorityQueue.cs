using System.Diagnostics;
using Aio.Sync.Internal;

namespace Aio;

/// <summary>
/// A queue that gives the item of lowest priority first, equal priorities in put order (asyncio's
/// <c>PriorityQueue</c>, whose items are <c>(priority, data)</c> tuples); otherwise like <see cref="AioQueue{T}"/>.
/// Items are <c>(Element, Priority)</c> pairs; the two-argument put methods build them.
/// </summary>
/// <typeparam name="TElement">The type of the elements.</typeparam>
/// <typeparam name="TPriority">The type of the priorities (lowest comes out first).</typeparam>
/// <remarks>A queue belongs to the loop it is created on (if created outside any loop: the first loop it is used on); use it on that loop's thread only.</remarks>
[DebuggerDisplay("{ToString(),nq}")]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711", Justification = "asyncio's name with the Aio prefix (docs/api-map.md).")]
public sealed class AioPriorityQueue<TElement, TPriority> : AioQueue<(TElement Element, TPriority Priority)>
{
    /// <summary>Creates a priority queue holding at most <paramref name="maxsize"/> items (0 or less: unbounded), ordered by <paramref name="comparer"/> (default: the priorities' natural order).</summary>
    public AioPriorityQueue(int maxsize = 0, IComparer<TPriority>? comparer = null)
        : base(maxsize, new PriorityStore<TElement, TPriority>(comparer))
    {
    }

    /// <summary>Puts <paramref name="element"/> with <paramref name="priority"/>; see <see cref="AioQueue{T}.PutAsync"/>.</summary>
    public ValueTask PutAsync(TElement element, TPriority priority) => PutAsync((element, priority));

    /// <summary>Puts <paramref name="element"/> with <paramref name="priority"/> without waiting; see <see cref="AioQueue{T}.PutNowait"/>.</summary>
    public void PutNowait(TElement element, TPriority priority) => PutNowait((element, priority));

    /// <summary>Puts <paramref name="element"/> with <paramref name="priority"/> if there is room; see <see cref="AioQueue{T}.TryPut"/>.</summary>
    public bool TryPut(TElement element, TPriority priority) => TryPut((element, priority));

    private protected override string TypeLabel => "AioPriorityQueue";
}
