using System.Threading.Tasks.Sources;

namespace Aio.Internal;

/// <summary>
/// An Aio wait's <see cref="IValueTaskSource"/> whose <c>OnCompleted</c> queues the continuation on the
/// ready ring as a step of the current task – never inline, never off the loop. A coroutine parked on
/// one hands it a static step instead of a delegate of its own (see <c>Coroutines</c>).
/// </summary>
internal interface ITaskStepSource : IValueTaskSource;
