using RaftKv.Robustness.History;

namespace RaftKv.Robustness.Checking;

/// <summary>The verdict of one check.</summary>
public enum Verdict
{
    /// <summary>The history satisfies the property.</summary>
    Ok,
    /// <summary>The history violates it; the result says where.</summary>
    Illegal,
    /// <summary>The search ran out of its step budget before deciding.</summary>
    Unknown,
}

/// <summary>The outcome of checking the operations on one key.</summary>
/// <param name="Key">The key.</param>
/// <param name="Verdict">The verdict.</param>
/// <param name="Operations">How many operations the key's history has.</param>
/// <param name="Steps">Search steps taken.</param>
/// <param name="Explanation">For <see cref="Verdict.Illegal"/>: the longest linearizable prefix found and the operations none of which could follow it.</param>
public sealed record KeyResult(string Key, Verdict Verdict, int Operations, long Steps, string? Explanation);

/// <summary>
/// Decides whether the operations on one key are linearizable (Herlihy and Wing) against <see cref="KeyState"/>'s
/// model, by Wing and Gong's search with Lowe's memoization (as Porcupine does): operations are taken in an order
/// that respects real time (an operation that returned before another was called comes first), each must be legal
/// in the state its predecessors left, and a (set of operations taken, states) pair already explored is never
/// explored again. Operations with unknown outcomes never return, so they may be placed anywhere after their call,
/// including after everything else, which is the same as not having happened; on a key of gets and puts only, one
/// whose value nobody read is left out for that reason (it can always go last). Every other one is a branch at each
/// step after its call, so a caller that knows from the committed log that a lost write never took effect should
/// leave it out of the history (as etcd's robustness suite does with its WALs), and one the log shows applied
/// carries <see cref="KvOperation.AppliedBy"/>: it must then be linearized between its call and that time, like an
/// operation that returned then with an answer nobody saw (<see cref="Logs.IndeterminateWrites"/>). Explored states
/// are remembered as a 128-bit Zobrist hash of the set taken with the states' hash, about 40 bytes each. Bounded by a
/// step budget.
/// </summary>
public static class LinearizabilityChecker
{
    /// <summary>Search steps allowed per key by default: a few seconds of work at most.</summary>
    public const long DefaultStepBudget = 20_000_000;

    private sealed class Node
    {
        public required KvOperation Operation;
        public required int Index; // the operation's position in this key's list
        public required bool IsCall;
        public Node? Match; // a call's return, or a return's call
        public Node? Prev;
        public Node? Next;
    }

    /// <summary>Checks the operations of one key; they must all name <paramref name="key"/>.</summary>
    public static KeyResult CheckKey(string key, IReadOnlyList<KvOperation> operations, long stepBudget = DefaultStepBudget)
    {
        ArgumentNullException.ThrowIfNull(operations);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stepBudget);
        operations = WithoutUnreadLostWrites(operations);
        var head = BuildEventList(key, operations);
        var random = new Random(20261203);
        var zobrist = operations.Select(_ => (A: (ulong)random.NextInt64(), B: (ulong)random.NextInt64())).ToArray();
        (ulong A, ulong B) linearized = (0, 0);
        var states = new KeyState[] { KeyState.Absent };
        var cache = new HashSet<CacheKey>();
        var stack = new Stack<(Node Call, KeyState[] States)>();
        var scratch = new List<KeyState>(4);
        var best = (Depth: 0, Prefix: Array.Empty<int>(), Blocked: (Node?)null, States: states);
        long steps = 0;
        var entry = head.Next;
        while (head.Next is not null)
        {
            if (++steps > stepBudget)
                return new KeyResult(key, Verdict.Unknown, operations.Count, steps, $"no verdict within {stepBudget} search steps");
            if (entry is null)
                throw new InvalidOperationException("the event list ended before a return: the list is corrupt");
            if (entry.IsCall)
            {
                var next = Step(states, entry.Operation, scratch);
                if (next.Length > 0)
                {
                    linearized = Toggle(linearized, zobrist[entry.Index]);
                    if (cache.Add(new CacheKey(linearized, next)))
                    {
                        stack.Push((entry, states));
                        states = next;
                        Lift(entry);
                        entry = head.Next;
                        continue;
                    }
                    linearized = Toggle(linearized, zobrist[entry.Index]);
                }
                entry = entry.Next;
                continue;
            }
            // A return whose call is still in the list: its operation has to be linearized before anything that
            // was called after this return, and no choice of the ones before it worked. Back up one.
            // The prefix is copied only when deeper than any before (or the first): a copy at every backtrack to the
            // same depth cost O(depth) each time in a search of millions of steps.
            if (stack.Count > best.Depth || best.Blocked is null)
                best = (stack.Count, stack.Select(s => s.Call.Operation.Id).Reverse().ToArray(), entry, states);
            if (stack.Count == 0)
                return new KeyResult(key, Verdict.Illegal, operations.Count, steps, Explain(best.Prefix, best.Blocked, best.States, operations));
            var (call, previous) = stack.Pop();
            states = previous;
            linearized = Toggle(linearized, zobrist[call.Index]);
            Unlift(call);
            entry = call.Next;
        }
        return new KeyResult(key, Verdict.Ok, operations.Count, steps, null);
    }

    private static (ulong A, ulong B) Toggle((ulong A, ulong B) set, (ulong A, ulong B) operation) => (set.A ^ operation.A, set.B ^ operation.B);

    // On a key that only sees gets and puts, a put whose answer was lost and whose value no read returned can always
    // be placed after everything else, where it changes nothing anyone saw: it cannot decide a verdict, and leaving
    // it out removes most of the branching that faults cause. (Where deletes or compare-and-puts run, its existence
    // or mod revision may explain their answers, so it stays.)
    private static IReadOnlyList<KvOperation> WithoutUnreadLostWrites(IReadOnlyList<KvOperation> operations)
    {
        if (operations.Any(o => o.Input.Kind is not (KvOperationKind.Get or KvOperationKind.Put))) return operations;
        var read = operations.Where(o => o.Input.Kind == KvOperationKind.Get && o.Output is { Value: not null })
            .Select(o => o.Output!.Value.Value!).ToHashSet(StringComparer.Ordinal);
        return operations.Where(o => o.IsCompleted || MustPrecedeSomething(o) || read.Contains(o.Input.Value ?? "")).ToArray();
    }

    // A lost write the log shows applied by a known time cannot go after everything else.
    private static bool MustPrecedeSomething(KvOperation op) => op.AppliedBy is { } by && by != long.MaxValue;

    // When the operation's effect must have happened by: its return, the time the log gives for a lost write, or never.
    private static long Deadline(KvOperation op) => op.IsCompleted ? op.ReturnTime : op.AppliedBy ?? long.MaxValue;

    private static KeyState[] Step(KeyState[] states, KvOperation operation, List<KeyState> scratch)
    {
        scratch.Clear();
        foreach (var state in states) state.Step(operation.Input, operation.Output, scratch);
        if (scratch.Count == 0) return [];
        if (scratch.Count == 1) return [scratch[0]]; // the usual case: nothing to sort or deduplicate
        return [.. scratch.Distinct().OrderBy(s => s.Value, StringComparer.Ordinal).ThenBy(s => s.ModRevision).ThenBy(s => s.Floor).ThenBy(s => s.WrittenAbove)];
    }

    private static Node BuildEventList(string key, IReadOnlyList<KvOperation> operations)
    {
        var events = new List<(long Time, bool IsCall, Node Node)>(operations.Count * 2);
        for (var i = 0; i < operations.Count; i++)
        {
            var op = operations[i];
            if (op.Input.Key != key) throw new ArgumentException($"operation {op} is not on key {key}", nameof(operations));
            if (Deadline(op) < op.CallTime) throw new ArgumentException($"operation {op} returned (or was applied) before it was called", nameof(operations));
            var call = new Node { Operation = op, Index = i, IsCall = true };
            var ret = new Node { Operation = op, Index = i, IsCall = false, Match = call };
            call.Match = ret;
            events.Add((op.CallTime, true, call));
            events.Add((Deadline(op), false, ret));
        }
        // Calls before returns at the same instant: such operations count as concurrent, the weaker (sound) reading.
        events.Sort((a, b) => a.Time != b.Time ? a.Time.CompareTo(b.Time) : b.IsCall.CompareTo(a.IsCall));
        var head = new Node { Operation = null!, Index = -1, IsCall = false };
        var tail = head;
        foreach (var (_, _, node) in events)
        {
            tail.Next = node;
            node.Prev = tail;
            tail = node;
        }
        return head;
    }

    // Takes a call and its return out of the list (the operation is linearized).
    private static void Lift(Node call)
    {
        call.Prev!.Next = call.Next;
        if (call.Next is not null) call.Next.Prev = call.Prev;
        var ret = call.Match!;
        ret.Prev!.Next = ret.Next;
        if (ret.Next is not null) ret.Next.Prev = ret.Prev;
    }

    // Puts them back, in the reverse order of Lift.
    private static void Unlift(Node call)
    {
        var ret = call.Match!;
        ret.Prev!.Next = ret;
        if (ret.Next is not null) ret.Next.Prev = ret;
        call.Prev!.Next = call;
        if (call.Next is not null) call.Next.Prev = call;
    }

    private static string Explain(int[] prefix, Node? blocked, KeyState[] states, IReadOnlyList<KvOperation> operations)
    {
        var byId = operations.ToDictionary(o => o.Id);
        var lines = new List<string> { $"linearizable prefix ({prefix.Length} operations), leaving {string.Join(" or ", states.Select(s => s.ToString()))}:" };
        lines.AddRange(prefix.TakeLast(10).Select(id => "  " + byId[id]));
        if (blocked is not null)
        {
            var deadline = Deadline(blocked.Operation);
            lines.Add($"then none of the operations called before {blocked.Operation} returned could follow:");
            lines.AddRange(operations.Where(o => !prefix.Contains(o.Id) && o.CallTime <= deadline).Take(10).Select(o => "  " + o));
        }
        return string.Join('\n', lines);
    }

    // The set taken (its Zobrist hash: equal sets hash equal; distinct ones collide with odds of 2^-128 per pair)
    // and the states, compared exactly.
    private readonly record struct CacheKey((ulong A, ulong B) Linearized, KeyState[] States)
    {
        public bool Equals(CacheKey other) => Linearized == other.Linearized && States.AsSpan().SequenceEqual(other.States);

        public override int GetHashCode()
        {
            var hash = new HashCode();
            hash.Add(Linearized.A);
            foreach (var s in States) hash.Add(s);
            return hash.ToHashCode();
        }
    }
}
