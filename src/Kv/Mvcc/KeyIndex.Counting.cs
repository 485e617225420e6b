namespace RaftKv.Kv.Mvcc;

/// <summary>Live-key counting: the per-node counts, their upkeep, and a self-check for tests.</summary>
internal sealed partial class KeyIndex
{
    /// <summary>Records that the key's newest version turned live (+1) or into a tombstone (-1).</summary>
    public void AdjustLive(ReadOnlySpan<byte> key, int delta)
    {
        if (delta is not (1 or -1))
        {
            throw new ArgumentOutOfRangeException(nameof(delta), delta, "a key turns live or dead one at a time");
        }

        var depth = Descend(key, out var leaf);
        leaf.LowerBound(key, out var found);
        var live = leaf.LiveCount + delta;
        if (!found || live < 0 || live > leaf.Count)
        {
            throw new InvalidOperationException($"live count {leaf.LiveCount}{delta:+0;-0} is impossible for a leaf of {leaf.Count}");
        }

        leaf.LiveCount = live;
        for (var level = 0; level < depth; level++)
        {
            pathNodes[level].AddLive(pathSlots[level], delta);
        }

        ClearPath();
    }

    /// <summary>Number of live keys in the range, in O(log n): live keys below the end minus those below the start.</summary>
    public long CountLive(in KeyRange range)
    {
        if (range.IsSingleKey)
        {
            return Find(range.Start.Span)?.IsLive == true ? 1 : 0;
        }

        var below = range.End is null ? LiveCount : LiveBelow(range.End.Span);
        return Math.Max(0, below - LiveBelow(range.Start.Span));
    }

    // Live keys strictly before key: whole subtrees left of the search path plus the leaf's prefix.
    private long LiveBelow(ReadOnlySpan<byte> key)
    {
        long live = 0;
        var node = root;
        while (node is Inner inner)
        {
            var slot = inner.ChildSlot(key);
            for (var i = 0; i < slot; i++)
            {
                live += inner.LiveCounts[i];
            }

            node = inner.Children[slot];
        }

        var leaf = (Leaf)node;
        var end = leaf.LowerBound(key, out _);
        if (end * 2 <= leaf.Count)
        {
            for (var i = 0; i < end; i++)
            {
                live += leaf.Items[i].IsLive ? 1 : 0;
            }
        }
        else
        {
            // Fewer histories to touch from the other side.
            live += leaf.LiveCount;
            for (var i = end; i < leaf.Count; i++)
            {
                live -= leaf.Items[i].IsLive ? 1 : 0;
            }
        }

        return live;
    }

    /// <summary>Verifies order, links and counts everywhere; for tests (O(n)).</summary>
    internal void CheckInvariants()
    {
        var leaves = new List<Leaf>();
        var (keys, live) = Check(root, leaves);
        if (keys != Count || live != LiveCount)
        {
            throw new InvalidOperationException($"index counts {Count}/{LiveCount}, tree holds {keys}/{live}");
        }

        if (!ReferenceEquals(leaves[0], firstLeaf) || leaves[0].Prev is not null || leaves[^1].Next is not null)
        {
            throw new InvalidOperationException("leaf chain ends are wrong");
        }

        for (var i = 1; i < leaves.Count; i++)
        {
            if (!ReferenceEquals(leaves[i - 1].Next, leaves[i]) || !ReferenceEquals(leaves[i].Prev, leaves[i - 1]))
            {
                throw new InvalidOperationException("leaf chain is broken");
            }
        }

        KeyHistory? previous = null;
        var cursor = First();
        while (cursor.Next(out var history))
        {
            if (previous is not null && previous.Key.Span.SequenceCompareTo(history.Key.Span) >= 0)
            {
                throw new InvalidOperationException("keys are out of order");
            }

            previous = history;
        }
    }

    private static (long Keys, long Live) Check(Node node, List<Leaf> leaves)
    {
        if (node is Leaf leaf)
        {
            var live = 0;
            for (var i = 0; i < leaf.Count; i++)
            {
                live += leaf.Items[i].IsLive ? 1 : 0;
            }

            if (live != leaf.LiveCount)
            {
                throw new InvalidOperationException($"leaf says {leaf.LiveCount} live, holds {live}");
            }

            leaves.Add(leaf);
            return (leaf.Count, live);
        }

        var inner = (Inner)node;
        if (inner.Count == 0)
        {
            throw new InvalidOperationException("empty inner node");
        }

        long keys = 0, total = 0;
        for (var i = 0; i < inner.Count; i++)
        {
            var (childKeys, childLive) = Check(inner.Children[i], leaves);
            if (childLive != inner.LiveCounts[i])
            {
                throw new InvalidOperationException($"inner slot {i} says {inner.LiveCounts[i]} live, child holds {childLive}");
            }

            keys += childKeys;
            total += childLive;
        }

        if (total != inner.Live)
        {
            throw new InvalidOperationException($"inner total {inner.Live} differs from its slots' {total}");
        }

        return (keys, total);
    }
}
