namespace Aio.Internal;

/// <summary>
/// Calls an <c>Action&lt;TState&gt;</c> that a ready-ring entry stores untyped (callback and state as
/// <see cref="object"/>), so <see cref="EventLoop.CallSoon{TState}(Action{TState}, TState)"/> needs no
/// wrapper object per call. One invoker per state type, found by the index the entry carries.
/// </summary>
internal abstract class StateInvoker
{
    private static readonly Lock s_lock = new();
    private static StateInvoker[] s_all = new StateInvoker[8];   // copy-on-write: readers never lock
    private static int s_count;

    /// <summary>The invoker registered under <paramref name="index"/>.</summary>
    public static StateInvoker Get(int index) => Volatile.Read(ref s_all)[index];

    /// <summary>Calls <paramref name="callback"/> (an <c>Action&lt;TState&gt;</c>) with <paramref name="state"/> (a <c>TState</c>).</summary>
    public abstract void Invoke(object callback, object? state);

    private protected static int Register(StateInvoker invoker)
    {
        lock (s_lock)
        {
            StateInvoker[] all = s_all;
            if (s_count == all.Length)
            {
                Array.Resize(ref all, all.Length * 2);
            }
            all[s_count] = invoker;
            Volatile.Write(ref s_all, all);
            return s_count++;
        }
    }
}

/// <summary>The invoker for callbacks taking a <typeparamref name="TState"/>.</summary>
internal sealed class StateInvoker<TState> : StateInvoker
{
    public static readonly StateInvoker<TState> Instance = new();

    /// <summary>This invoker's index, carried by the ring entries it runs.</summary>
    public static readonly int Index = Register(Instance);

    // The casts cannot fail: CallSoon<TState> stored exactly these types together with this index.
    public override void Invoke(object callback, object? state) => ((Action<TState>)callback)((TState)state!);
}
