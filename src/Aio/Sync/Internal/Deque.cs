namespace Aio.Sync.Internal;

/// <summary>A growable ring buffer with both ends open; allocation-free once grown.</summary>
internal sealed class Deque<T>
{
    private T[] _items = new T[4];
    private int _head;   // index of the front element
    private int _count;  // elements in use

    public int Count => _count;

    public T this[int index] => _items[Wrap(_head + index)];

    /// <summary>The element at <paramref name="index"/> from the front, by reference.</summary>
    public ref T At(int index) => ref _items[Wrap(_head + index)];

    public void PushBack(T item)
    {
        if (_count == _items.Length)
        {
            Grow();
        }
        _items[Wrap(_head + _count)] = item;
        _count++;
    }

    public void PushFront(T item)
    {
        if (_count == _items.Length)
        {
            Grow();
        }
        _head = _head == 0 ? _items.Length - 1 : _head - 1;
        _items[_head] = item;
        _count++;
    }

    public T PopFront()
    {
        T item = _items[_head];
        _items[_head] = default!;
        _head = Wrap(_head + 1);
        _count--;
        return item;
    }

    public T PopBack()
    {
        int tail = Wrap(_head + _count - 1);
        T item = _items[tail];
        _items[tail] = default!;
        _count--;
        return item;
    }

    /// <summary>Removes the element at <paramref name="index"/> from the front, shifting the later ones.</summary>
    public T RemoveAt(int index)
    {
        if (index == 0)
        {
            return PopFront();
        }
        T item = this[index];
        for (int i = index; i < _count - 1; i++)
        {
            _items[Wrap(_head + i)] = _items[Wrap(_head + i + 1)];
        }
        _items[Wrap(_head + _count - 1)] = default!;
        _count--;
        return item;
    }

    public void Clear()
    {
        Array.Clear(_items);
        _head = 0;
        _count = 0;
    }

    private int Wrap(int i) => i >= _items.Length ? i - _items.Length : i;

    private void Grow()
    {
        var bigger = new T[_items.Length * 2];
        for (int i = 0; i < _count; i++)
        {
            bigger[i] = this[i];
        }
        _items = bigger;
        _head = 0;
    }
}
