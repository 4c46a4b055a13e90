using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Aio.Polling.Interop;

/// <summary>
/// Reads and writes <c>struct epoll_event { uint32_t events; uint64_t data; }</c> in native memory.
/// </summary>
/// <remarks>
/// The struct's layout depends on the architecture, which is why no C# struct stands for it:
/// glibc and the kernel declare it <c>__attribute__((packed))</c> on x86_64 only, so there it is
/// 12 bytes with <c>data</c> at offset 4; on x86 the 8-byte field is 4-aligned anyway (same 12/4);
/// everywhere else (arm64, arm, riscv64, ...) it has natural alignment: 16 bytes, <c>data</c> at 8.
/// Using the x86_64 layout on arm64 (or the reverse) shifts every event after the first one in a
/// batch, and the loop dispatches garbage. The layout is picked once from
/// <see cref="RuntimeInformation.ProcessArchitecture"/>; the JIT folds the static readonly fields.
/// </remarks>
internal static unsafe class EpollEvent
{
    /// <summary>True where the struct is 12 bytes (x86_64, x86).</summary>
    public static readonly bool IsPacked =
        RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86;

    /// <summary>Size of one <c>struct epoll_event</c> in bytes: 12 packed, 16 otherwise.</summary>
    public static readonly int Size = IsPacked ? 12 : 16;

    /// <summary>Offset of the <c>data</c> field in bytes: 4 packed, 8 otherwise.</summary>
    public static readonly int DataOffset = IsPacked ? 4 : 8;

    /// <summary>Bytes a caller must reserve on the stack for one event (the larger layout).</summary>
    public const int MaxSize = 16;

    /// <summary>Writes one event at <paramref name="p"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Write(byte* p, uint events, ulong data)
    {
        Unsafe.WriteUnaligned(p, events);
        Unsafe.WriteUnaligned(p + DataOffset, data);
    }

    /// <summary>Reads the <c>events</c> field of the event at <paramref name="p"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint ReadEvents(byte* p) => Unsafe.ReadUnaligned<uint>(p);

    /// <summary>Reads the <c>data</c> field of the event at <paramref name="p"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong ReadData(byte* p) => Unsafe.ReadUnaligned<ulong>(p + DataOffset);
}
