using Google.Protobuf;

namespace RaftKv.Kv.Mvcc;

/// <summary>
/// The keys of the store in unsigned byte order: an in-memory B+ tree of <see cref="KeyHistory"/> with linked
/// leaves, so a range read seeks in O(log n) and then walks only the keys it returns. Every node also knows how
/// many live keys (newest version not a tombstone) lie below it, so counting a range at the newest revision costs
/// O(log n) too. Not thread-safe: the store serializes writers against readers.
/// </summary>
/// <remarks>
/// Removal drops empty nodes and merges a sparse leaf into a neighbour; inner nodes are never rebalanced beyond
/// dropping empty ones, which keeps the code small while the height stays logarithmic in the largest size reached.
/// </remarks>
internal sealed partial class KeyIndex
{
    private const int LeafCapacity = 64;
    private const int InnerCapacity = 64;
    private const int MergeBelow = LeafCapacity / 4;
    private const int MergedAtMost = LeafCapacity * 3 / 4;

    // Depth bound: even with inner nodes holding just two children, 2^40 keys would be needed to exceed it.
    private const int MaxDepth = 40;

    private readonly Inner[] pathNodes = new Inner[MaxDepth];
    private readonly int[] pathSlots = new int[MaxDepth];
    private Node root;
    private Leaf firstLeaf;

    public KeyIndex()
    {
        firstLeaf = new Leaf();
        root = firstLeaf;
    }

    /// <summary>Number of keys.</summary>
    public int Count { get; private set; }

    /// <summary>Number of live keys.</summary>
    public long LiveCount => root.Live;

    public KeyHistory? Find(ReadOnlySpan<byte> key)
    {
        var leaf = FindLeaf(key);
        var slot = leaf.LowerBound(key, out var found);
        return found ? leaf.Items[slot] : null;
    }

    /// <summary>The history of <paramref name="key"/>, created empty (not live) when the key is new.</summary>
    public KeyHistory GetOrAdd(ByteString key)
    {
        var span = key.Span;
        var depth = Descend(span, out var leaf);
        var slot = leaf.LowerBound(span, out var found);
        if (found)
        {
            return leaf.Items[slot];
        }

        var history = new KeyHistory(key);
        Count++;
        if (leaf.Count < LeafCapacity)
        {
            leaf.InsertAt(slot, history);
            return history;
        }

        var right = SplitLeaf(leaf, slot, history);
        PromoteSplit(depth, right, right.Items[0].Key);
        return history;
    }

    /// <summary>Removes <paramref name="key"/>, which must not be live; false when it was absent.</summary>
    public bool Remove(ReadOnlySpan<byte> key)
    {
        var depth = Descend(key, out var leaf);
        var slot = leaf.LowerBound(key, out var found);
        if (!found)
        {
            return false;
        }

        leaf.RemoveAt(slot);
        Count--;
        if (depth > 0)
        {
            if (leaf.Count == 0)
            {
                RemoveChild(depth - 1, leaf);
            }
            else if (leaf.Count < MergeBelow)
            {
                TryMergeLeaf(depth - 1, leaf);
            }
        }

        while (root is Inner { Count: 1 } single)
        {
            root = single.Children[0];
        }

        ClearPath();
        return true;
    }

    /// <summary>A cursor on the first key at or after <paramref name="key"/>.</summary>
    public Cursor Seek(ReadOnlySpan<byte> key)
    {
        var leaf = FindLeaf(key);
        return new Cursor(leaf, leaf.LowerBound(key, out _));
    }

    /// <summary>A cursor on the smallest key.</summary>
    public Cursor First() => new(firstLeaf, 0);

    private Leaf FindLeaf(ReadOnlySpan<byte> key)
    {
        var node = root;
        while (node is Inner inner)
        {
            node = inner.Children[inner.ChildSlot(key)];
        }

        return (Leaf)node;
    }

    private int Descend(ReadOnlySpan<byte> key, out Leaf leaf)
    {
        var depth = 0;
        var node = root;
        while (node is Inner inner)
        {
            if (depth == MaxDepth)
            {
                throw new InvalidOperationException("key index deeper than its bound");
            }

            var slot = inner.ChildSlot(key);
            pathNodes[depth] = inner;
            pathSlots[depth] = slot;
            depth++;
            node = inner.Children[slot];
        }

        leaf = (Leaf)node;
        return depth;
    }

    private static Leaf SplitLeaf(Leaf leaf, int slot, KeyHistory history)
    {
        var right = new Leaf();
        if (slot == leaf.Count && leaf.Next is null)
        {
            // Appending past the largest key (sequential keys): start a fresh leaf so leaves stay full.
            right.InsertAt(0, history);
        }
        else
        {
            var keep = LeafCapacity / 2;
            leaf.MoveTailTo(right, keep);
            if (slot <= keep)
            {
                leaf.InsertAt(slot, history);
            }
            else
            {
                right.InsertAt(slot - keep, history);
            }
        }

        right.Next = leaf.Next;
        right.Prev = leaf;
        if (leaf.Next is not null)
        {
            leaf.Next.Prev = right;
        }

        leaf.Next = right;
        return right;
    }

    // Inserts the new right sibling into the parents, splitting them as needed, up to a new root. The live keys
    // that moved into the new node leave the count of the node they came from.
    private void PromoteSplit(int depth, Node right, ByteString lowKey)
    {
        for (var level = depth - 1; level >= 0; level--)
        {
            var parent = pathNodes[level];
            var slot = pathSlots[level];
            parent.AddLive(slot, -right.Live);
            if (parent.Count < InnerCapacity)
            {
                parent.InsertAt(slot + 1, lowKey, right, right.Live);
                ClearPath();
                return;
            }

            var newRight = parent.SplitInsert(slot + 1, lowKey, right, right.Live);
            right = newRight;
            lowKey = newRight.LowKeys[0];
        }

        var newRoot = new Inner();
        newRoot.InsertAt(0, ByteString.Empty, root, root.Live);
        newRoot.InsertAt(1, lowKey, right, right.Live);
        root = newRoot;
        ClearPath();
    }

    private void RemoveChild(int level, Node child)
    {
        while (true)
        {
            if (child is Leaf emptyLeaf)
            {
                Unlink(emptyLeaf);
            }

            var parent = pathNodes[level];
            parent.RemoveAt(pathSlots[level]);
            if (parent.Count > 0 || level == 0)
            {
                break;
            }

            child = parent;
            level--;
        }

        if (root is Inner { Count: 0 })
        {
            // Everything was removed.
            firstLeaf = new Leaf();
            root = firstLeaf;
        }
    }

    private void TryMergeLeaf(int level, Leaf leaf)
    {
        var parent = pathNodes[level];
        var slot = pathSlots[level];
        if (slot + 1 < parent.Count && parent.Children[slot + 1] is Leaf right && leaf.Count + right.Count <= MergedAtMost)
        {
            right.MoveTailTo(leaf, 0);
            Unlink(right);
            parent.MergeIntoLeft(slot + 1);
        }
        else if (slot > 0 && parent.Children[slot - 1] is Leaf left && leaf.Count + left.Count <= MergedAtMost)
        {
            leaf.MoveTailTo(left, 0);
            Unlink(leaf);
            parent.MergeIntoLeft(slot);
        }
    }

    private void Unlink(Leaf leaf)
    {
        if (leaf.Prev is null)
        {
            firstLeaf = leaf.Next ?? leaf;
        }
        else
        {
            leaf.Prev.Next = leaf.Next;
        }

        if (leaf.Next is not null)
        {
            leaf.Next.Prev = leaf.Prev;
        }

        leaf.Next = null;
        leaf.Prev = null;
    }

    // Drops references so removed nodes are not kept alive by the scratch path.
    private void ClearPath() => Array.Clear(pathNodes);
}
