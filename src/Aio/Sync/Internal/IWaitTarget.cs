using Aio.LowLevel;

namespace Aio.Sync.Internal;

/// <summary>
/// What a primitive tells the hang detector about the tasks parked in one of its lots: what they wait
/// for, and which tasks (if known) must act before they can wake.
/// </summary>
internal interface IWaitTarget
{
    /// <summary>A short unique label: <c>AioLock#3</c>.</summary>
    string Label { get; }

    /// <summary>What a task parked in <paramref name="lot"/> is doing: "waits to acquire", "waits to get from".</summary>
    string DescribeWait(ParkingLot lot);

    /// <summary>The tasks that hold what the waiters of <paramref name="lot"/> need (lock owner, permit holders); empty when unknown or nobody.</summary>
    IReadOnlyList<AioTask> Blockers(ParkingLot lot);
}
