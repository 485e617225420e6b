using Google.Protobuf;

namespace RaftKv.Kv.Mvcc;

/// <summary>Nodes and cursor of the key index.</summary>
internal sealed partial class KeyIndex
{
    internal abstract class Node
    {
        public int Count { get; protected set; }

        /// <summary>Live keys in this subtree.</summary>
        public abstract long Live { get; }
    }

    /// <summary>Up to <see cref="LeafCapacity"/> histories in key order, linked to the neighbouring leaves.</summary>
    internal sealed class Leaf : Node
    {
        public KeyHistory[] Items { get; } = new KeyHistory[LeafCapacity];

        public Leaf? Next { get; set; }

        public Leaf? Prev { get; set; }

        /// <summary>How many histories here are live (newest version not a tombstone).</summary>
        public int LiveCount { get; set; }

        public override long Live => LiveCount;

        public void RecountLive()
        {
            var live = 0;
            for (var i = 0; i < Count; i++)
            {
                if (Items[i].IsLive)
                {
                    live++;
                }
            }

            LiveCount = live;
        }

        /// <summary>First slot whose key is at or after <paramref name="key"/>.</summary>
        public int LowerBound(ReadOnlySpan<byte> key, out bool found)
        {
            int lo = 0, hi = Count - 1;
            while (lo <= hi)
            {
                var mid = (lo + hi) >>> 1;
                var cmp = Items[mid].Key.Span.SequenceCompareTo(key);
                if (cmp == 0)
                {
                    found = true;
                    return mid;
                }

                if (cmp < 0)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid - 1;
                }
            }

            found = false;
            return lo;
        }

        public void InsertAt(int slot, KeyHistory history)
        {
            if (Count == LeafCapacity || (uint)slot > (uint)Count)
            {
                throw new InvalidOperationException($"leaf insert at {slot} of {Count}");
            }

            Array.Copy(Items, slot, Items, slot + 1, Count - slot);
            Items[slot] = history;
            Count++;
        }

        public void RemoveAt(int slot)
        {
            if (Items[slot].IsLive)
            {
                throw new InvalidOperationException("only keys whose newest version is a tombstone leave the index");
            }

            Array.Copy(Items, slot + 1, Items, slot, Count - slot - 1);
            Count--;
            Items[Count] = null!;
        }

        /// <summary>Moves the items from <paramref name="from"/> on to the end of <paramref name="target"/>.</summary>
        public void MoveTailTo(Leaf target, int from)
        {
            var moving = Count - from;
            if (target.Count + moving > LeafCapacity)
            {
                throw new InvalidOperationException("leaf merge overflows");
            }

            Array.Copy(Items, from, target.Items, target.Count, moving);
            Array.Clear(Items, from, moving);
            target.Count += moving;
            Count = from;
            RecountLive();
            target.RecountLive();
        }
    }

    /// <summary>
    /// Up to <see cref="InnerCapacity"/> children; LowKeys[i] is at or below every key under child i (LowKeys[0] is
    /// only kept for the parent's benefit after a split and never used to route); LiveCounts[i] is child i's live keys.
    /// </summary>
    internal sealed class Inner : Node
    {
        private long liveTotal;

        public ByteString[] LowKeys { get; } = new ByteString[InnerCapacity];

        public Node[] Children { get; } = new Node[InnerCapacity];

        public long[] LiveCounts { get; } = new long[InnerCapacity];

        public override long Live => liveTotal;

        /// <summary>Slot of the child whose subtree would hold <paramref name="key"/>.</summary>
        public int ChildSlot(ReadOnlySpan<byte> key)
        {
            int lo = 1, hi = Count - 1, slot = 0;
            while (lo <= hi)
            {
                var mid = (lo + hi) >>> 1;
                if (LowKeys[mid].Span.SequenceCompareTo(key) <= 0)
                {
                    slot = mid;
                    lo = mid + 1;
                }
                else
                {
                    hi = mid - 1;
                }
            }

            return slot;
        }

        public void AddLive(int slot, long delta)
        {
            LiveCounts[slot] += delta;
            liveTotal += delta;
        }

        public void InsertAt(int slot, ByteString lowKey, Node child, long live)
        {
            if (Count == InnerCapacity || (uint)slot > (uint)Count)
            {
                throw new InvalidOperationException($"inner insert at {slot} of {Count}");
            }

            Array.Copy(LowKeys, slot, LowKeys, slot + 1, Count - slot);
            Array.Copy(Children, slot, Children, slot + 1, Count - slot);
            Array.Copy(LiveCounts, slot, LiveCounts, slot + 1, Count - slot);
            LowKeys[slot] = lowKey;
            Children[slot] = child;
            LiveCounts[slot] = live;
            liveTotal += live;
            Count++;
        }

        public void RemoveAt(int slot)
        {
            liveTotal -= LiveCounts[slot];
            Array.Copy(LowKeys, slot + 1, LowKeys, slot, Count - slot - 1);
            Array.Copy(Children, slot + 1, Children, slot, Count - slot - 1);
            Array.Copy(LiveCounts, slot + 1, LiveCounts, slot, Count - slot - 1);
            Count--;
            LowKeys[Count] = null!;
            Children[Count] = null!;
            LiveCounts[Count] = 0;
        }

        /// <summary>Drops child <paramref name="slot"/> whose keys moved into child slot - 1, moving its count along.</summary>
        public void MergeIntoLeft(int slot)
        {
            AddLive(slot - 1, LiveCounts[slot]);
            RemoveAt(slot);
        }

        /// <summary>Splits this full node around an insertion; returns the new right half.</summary>
        public Inner SplitInsert(int slot, ByteString lowKey, Node child, long live)
        {
            var right = new Inner();
            var keep = InnerCapacity / 2;
            var moving = Count - keep;
            Array.Copy(LowKeys, keep, right.LowKeys, 0, moving);
            Array.Copy(Children, keep, right.Children, 0, moving);
            Array.Copy(LiveCounts, keep, right.LiveCounts, 0, moving);
            Array.Clear(LowKeys, keep, moving);
            Array.Clear(Children, keep, moving);
            Array.Clear(LiveCounts, keep, moving);
            right.Count = moving;
            Count = keep;
            RecountLive();
            right.RecountLive();
            if (slot <= keep)
            {
                InsertAt(slot, lowKey, child, live);
            }
            else
            {
                right.InsertAt(slot - keep, lowKey, child, live);
            }

            return right;
        }

        private void RecountLive()
        {
            liveTotal = 0;
            for (var i = 0; i < Count; i++)
            {
                liveTotal += LiveCounts[i];
            }
        }
    }

    /// <summary>A position in key order; moves forward only. Invalid once the index is modified.</summary>
    internal struct Cursor
    {
        private Leaf? leaf;
        private int slot;

        public Cursor(Leaf leaf, int slot)
        {
            this.leaf = leaf;
            this.slot = slot;
        }

        /// <summary>The history at the cursor, then advances; false past the last key.</summary>
        public bool Next(out KeyHistory history)
        {
            while (leaf is not null && slot >= leaf.Count)
            {
                leaf = leaf.Next;
                slot = 0;
            }

            if (leaf is null)
            {
                history = null!;
                return false;
            }

            history = leaf.Items[slot++];
            return true;
        }
    }
}
