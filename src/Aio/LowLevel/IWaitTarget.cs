namespace Aio.LowLevel;

/// <summary>
/// What a primitive tells the hang detector and task dumps about the tasks parked in one of its
/// <see cref="ParkingLot"/>s (create the lot with the primitive as its <see cref="ParkingLot.Owner"/>): what they
/// wait for, and which tasks, if known, must act before they can wake. Aio's own primitives implement it; a
/// primitive written outside Aio implements it to appear in deadlock reports the same way.
/// </summary>
public interface IWaitTarget
{
    /// <summary>A short unique label: <c>AioLock#3</c>.</summary>
    string Label { get; }

    /// <summary>What a task parked in <paramref name="lot"/> is doing: "waits to acquire", "waits to get from".</summary>
    /// <param name="lot">One of this primitive's lots.</param>
    string DescribeWait(ParkingLot lot);

    /// <summary>The same, as a link of a wait-for chain ("waits" in "A waits AioLock#3 held by B"); by default <see cref="DescribeWait"/>.</summary>
    /// <param name="lot">One of this primitive's lots.</param>
    string DescribeWaitInChain(ParkingLot lot) => DescribeWait(lot);

    /// <summary>The tasks that hold what the waiters of <paramref name="lot"/> need (lock owner, permit holders); empty when unknown or nobody.</summary>
    /// <param name="lot">One of this primitive's lots.</param>
    IReadOnlyList<AioTask> Blockers(ParkingLot lot);
}
