using System.Collections.Concurrent;

namespace RaftKv.Http.Faults;

/// <summary>
/// Who is cut off by fault injection. A partitioned member drops all Raft traffic it receives and tells its peers
/// (every 500 ms, as a lease) to drop the traffic they receive from it, so both directions go quiet without any
/// hook in the transport. Leases expire on their own when the partitioned member stops announcing (healed,
/// stopped or restarted), so no member stays cut off by accident.
/// </summary>
public sealed class PartitionState(TimeProvider? time = null)
{
    /// <summary>How long a peer's "drop my traffic" announcement holds.</summary>
    public static readonly TimeSpan Lease = TimeSpan.FromSeconds(2);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ConcurrentDictionary<ulong, DateTimeOffset> _isolatedPeers = new();
    private readonly Lock _gate = new();
    private bool _self;
    private DateTimeOffset? _selfUntil;

    /// <summary>Whether this member is cut off from its peers now.</summary>
    public bool SelfIsolated
    {
        get
        {
            lock (_gate)
            {
                if (_self && _selfUntil is { } until && _time.GetUtcNow() >= until)
                {
                    _self = false;
                    _selfUntil = null;
                }
                return _self;
            }
        }
    }

    /// <summary>Cuts this member off, until <see cref="Heal"/> or for <paramref name="duration"/>.</summary>
    public void IsolateSelf(TimeSpan? duration)
    {
        lock (_gate)
        {
            _self = true;
            _selfUntil = duration is { } d ? _time.GetUtcNow() + d : null;
        }
    }

    /// <summary>Reconnects this member.</summary>
    public void Heal()
    {
        lock (_gate)
        {
            _self = false;
            _selfUntil = null;
        }
    }

    /// <summary>A peer says it is (or is no longer) partitioned.</summary>
    public void PeerAnnounced(ulong peerId, bool isolated)
    {
        if (isolated) _isolatedPeers[peerId] = _time.GetUtcNow() + Lease;
        else _isolatedPeers.TryRemove(peerId, out _);
    }

    /// <summary>Whether Raft traffic from <paramref name="from"/> must be dropped here.</summary>
    public bool Drops(ulong from)
    {
        if (SelfIsolated) return true;
        if (from == 0 || !_isolatedPeers.TryGetValue(from, out var until)) return false;
        if (_time.GetUtcNow() < until) return true;
        _isolatedPeers.TryRemove(from, out _);
        return false;
    }
}
