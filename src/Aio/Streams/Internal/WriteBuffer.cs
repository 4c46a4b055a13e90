using System.Buffers;
using System.Diagnostics;
using Aio.Net;

namespace Aio.Streams.Internal;

/// <summary>
/// The unsent tail of a transport's writes: one contiguous byte array rented from the shared pool, with
/// a start (first unsent byte) and an end. Appends compact or grow the array; consuming moves the start.
/// Allocation-free in steady state; the array goes back to the pool when the buffer empties.
/// </summary>
internal sealed class WriteBuffer
{
    private byte[]? _array;   // rented while the buffer holds data; null when empty
    private int _start;       // index of the first unsent byte
    private int _end;         // index after the last unsent byte

    /// <summary>Bytes held.</summary>
    public int Length => _end - _start;

    /// <summary>The bytes held, oldest first. Valid until the next <see cref="Append"/>.</summary>
    public ReadOnlySpan<byte> Span => _array is null ? default : _array.AsSpan(_start, _end - _start);

    /// <summary>The bytes held as memory (for an async send). Valid until the next <see cref="Append"/> or <see cref="Clear"/>.</summary>
    public ReadOnlyMemory<byte> Memory => _array is null ? default : _array.AsMemory(_start, _end - _start);

    /// <summary>Copies <paramref name="data"/> at the end.</summary>
    public void Append(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }
        if (_array is null)
        {
            _array = ArrayPool<byte>.Shared.Rent(Math.Max(data.Length, 16 * 1024));
            _start = _end = 0;
        }
        else if (_array.Length - _end < data.Length)
        {
            int length = _end - _start;
            if (_array.Length - length >= data.Length && _start >= _array.Length / 2)
            {
                // Enough room once the consumed head is dropped.
                Buffer.BlockCopy(_array, _start, _array, 0, length);
            }
            else
            {
                byte[] bigger = ArrayPool<byte>.Shared.Rent(Math.Max(length + data.Length, _array.Length * 2));
                Buffer.BlockCopy(_array, _start, bigger, 0, length);
                ArrayPool<byte>.Shared.Return(_array);
                _array = bigger;
            }
            _start = 0;
            _end = length;
        }
        data.CopyTo(_array.AsSpan(_end));
        _end += data.Length;
        Debug.Assert(_start <= _end && _end <= _array.Length, "WriteBuffer indexes must stay inside the array.");
    }

    /// <summary>Drops the first <paramref name="count"/> bytes (they were sent).</summary>
    public void Consume(int count)
    {
        Debug.Assert(count >= 0 && count <= Length, "Cannot consume more than the buffer holds.");
        _start += count;
        if (_start == _end)
        {
            Clear();
        }
    }

    /// <summary>Drops everything and returns the array to the pool.</summary>
    public void Clear()
    {
        if (_array is not null)
        {
            ArrayPool<byte>.Shared.Return(_array);
            _array = null;
        }
        _start = _end = 0;
    }
}
