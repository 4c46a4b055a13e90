using Aio.LowLevel;

namespace Aio;

public sealed partial class EventLoop
{
    /// <summary>What outside work the loop is waiting for, read in one place by the virtual clock and the hang detector.</summary>
    private enum OutsideWork
    {
        /// <summary>Nothing outside the loop can make anything ready.</summary>
        None,

        /// <summary>A foreign await, a registered descriptor or I/O in flight: a thread or a peer may deliver something.</summary>
        MayDeliver,

        /// <summary>Work that will report back for sure (executor items): virtual time must not jump past it.</summary>
        WillReport,
    }

    /// <summary>Counts outside work beginning; see <see cref="LowLevel.OutsideWorkKind"/>. Loop thread only.</summary>
    internal void BeginOutsideWork(OutsideWorkKind kind)
    {
        if (kind == OutsideWorkKind.Reporting)
        {
            _outsideReporting++;
        }
        else
        {
            _outsideForeign++;
        }
    }

    /// <summary>Counts outside work ending (once per <see cref="BeginOutsideWork"/>). Loop thread only.</summary>
    internal void EndOutsideWork(OutsideWorkKind kind)
    {
        if (kind == OutsideWorkKind.Reporting)
        {
            _outsideReporting--;
        }
        else
        {
            _outsideForeign--;
        }
        AssertOutsideWorkBalanced();
    }

    /// <summary>Outside work of kind Foreign pending now (for tests).</summary>
    internal int OutsideForeignCount => _outsideForeign;

    /// <summary>The one place that decides whether something outside the loop may still make work ready.</summary>
    private OutsideWork OutsideWorkPending(Polling.IPoller poller) =>
        _outsideReporting > 0 ? OutsideWork.WillReport
        : _outsideForeign > 0 || poller.RegistrationCount > 0 ? OutsideWork.MayDeliver
        : OutsideWork.None;

    [System.Diagnostics.Conditional("DEBUG")]
    private void AssertOutsideWorkBalanced() =>
        System.Diagnostics.Debug.Assert(_outsideForeign >= 0 && _outsideReporting >= 0,
            $"{this}: outside work ended more often than it began (foreign {_outsideForeign}, reporting {_outsideReporting})");
}
