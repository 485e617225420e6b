namespace RaftKv.Raft;

/// <summary>
/// Request ids for <see cref="RaftNode.ReadIndex"/>, unique across restarts of the host. A
/// <see cref="MessageType.ReadIndexResponse"/> for a read forwarded by a previous incarnation of this node can still
/// be in the network after a restart; if the new incarnation reused that read's id, the old answer would complete a
/// new read with an index from before writes the new read must see (a stale "linearizable" read, thesis section
/// 6.4). Create one generator per incarnation (process start, or node restart) from a fresh random seed.
/// </summary>
/// <remarks>
/// <para>
/// Contract: within one generator, <see cref="Next"/> never returns the same id twice in 2^64 - 1 calls, and never
/// returns 0 (the value <see cref="Message.Context"/> has when unset, so a response that lost its id cannot match
/// a read). Ids count up from the seed, so two incarnations collide only if their ranges overlap: with uniformly
/// random seeds and at most n reads each, the chance is about 2n / 2^64 (for a billion reads, 1 in 10^10).
/// </para>
/// <para>Not thread-safe: call it from the thread that drives the node.</para>
/// </remarks>
public sealed class ReadIdGenerator
{
    private ulong _next;

    /// <summary>Starts a generator for one incarnation.</summary>
    /// <param name="incarnation">
    /// The seed: cryptographically random in a real host (for example from
    /// <c>RandomNumberGenerator</c>), drawn from the seeded random source in a simulation. Any value is allowed.
    /// </param>
    public ReadIdGenerator(ulong incarnation) => _next = incarnation;

    /// <summary>The next request id: never 0, never repeated within this generator.</summary>
    public ulong Next()
    {
        var id = _next++;
        if (id == 0) id = _next++; // wrapped around (or seeded with 0): skip the unset value
        return id;
    }
}
