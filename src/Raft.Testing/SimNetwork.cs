namespace RaftKv.Raft.Testing;

/// <summary>
/// A virtual network: messages are delivered after a random delay (which reorders them), may be dropped or
/// duplicated, and never cross a partition. Whether a link is cut is checked at delivery time.
/// </summary>
public sealed class SimNetwork(Random random)
{
    private readonly List<(long DeliverAt, long Seq, Message Message)> _inFlight = [];
    private readonly HashSet<(ulong, ulong)> _cut = [];
    private readonly List<Message> _held = [];
    private long _seq;

    /// <summary>Probability a message is lost.</summary>
    public double DropRate { get; set; }

    /// <summary>Probability a message is delivered twice.</summary>
    public double DuplicateRate { get; set; }

    /// <summary>
    /// Whether messages on one link may overtake each other within a tick. Off by default: peer links are ordered
    /// streams (TCP, gRPC); random delays still reorder across ticks.
    /// </summary>
    public bool ReorderWithinLink { get; set; }

    /// <summary>Maximum extra ticks of delay; 0 delivers within the current tick.</summary>
    public int MaxDelayTicks { get; set; }

    /// <summary>Messages in flight at most; more are dropped (a bounded network, like a real send queue).</summary>
    public int CapacityMessages { get; set; } = 100_000;

    /// <summary>An extra rule: return false to drop a message (scripted scenarios).</summary>
    public Func<Message, bool>? Filter { get; set; }

    /// <summary>A scripted delay: messages it matches when due are parked until <see cref="ReleaseHeld"/>.</summary>
    public Func<Message, bool>? Hold { get; set; }

    /// <summary>Messages parked by <see cref="Hold"/>.</summary>
    public int HeldCount => _held.Count;

    /// <summary>Messages sent and not yet delivered or dropped.</summary>
    public int InFlight => _inFlight.Count;

    /// <summary>Called for every message lost (dropped at random, by a cut link, by the filter or for lack of room).</summary>
    public Action<Message>? OnDropped { get; set; }

    /// <summary>Messages delivered so far.</summary>
    public long Delivered { get; private set; }

    /// <summary>Messages dropped so far (by faults, cuts or a full network).</summary>
    public long Dropped { get; private set; }

    /// <summary>Sends <paramref name="message"/> at tick <paramref name="now"/>, subject to the network's faults.</summary>
    public void Send(Message message, long now)
    {
        if (_inFlight.Count >= CapacityMessages || random.NextDouble() < DropRate)
        {
            Dropped++;
            OnDropped?.Invoke(message);
            return;
        }
        Enqueue(message, now);
        if (random.NextDouble() < DuplicateRate) Enqueue(message, now);
    }

    private void Enqueue(Message message, long now)
    {
        var delay = MaxDelayTicks == 0 ? 0 : random.Next(MaxDelayTicks + 1);
        _inFlight.Add((now + delay, _seq++, message));
    }

    /// <summary>Removes and returns the messages due at <paramref name="now"/>, in a random order, minus those a cut link or the filter drops.</summary>
    public List<Message> TakeDue(long now)
    {
        var due = new List<(long Seq, Message Message)>();
        for (var i = 0; i < _inFlight.Count;)
        {
            if (_inFlight[i].DeliverAt <= now)
            {
                var (_, seq, m) = _inFlight[i];
                _inFlight[i] = _inFlight[^1];
                _inFlight.RemoveAt(_inFlight.Count - 1);
                if (Hold is not null && Hold(m)) _held.Add(m);
                else if (_cut.Contains((m.From, m.To)) || (Filter is not null && !Filter(m)))
                {
                    Dropped++;
                    OnDropped?.Invoke(m);
                }
                else due.Add((seq, m));
            }
            else i++;
        }
        // Random interleaving of links within a tick.
        for (var i = due.Count - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (due[i], due[j]) = (due[j], due[i]);
        }
        if (!ReorderWithinLink)
        {
            // Keep each link's messages in send order, in the slots that link got in the shuffle.
            foreach (var link in due.Select((d, pos) => (d, pos)).GroupBy(x => (x.d.Message.From, x.d.Message.To)))
            {
                var slots = link.Select(x => x.pos).ToArray();
                var ordered = link.Select(x => x.d).OrderBy(d => d.Seq).ToArray();
                for (var k = 0; k < slots.Length; k++) due[slots[k]] = ordered[k];
            }
        }
        Delivered += due.Count;
        return due.Select(d => d.Message).ToList();
    }

    /// <summary>Whether messages from <paramref name="from"/> to <paramref name="to"/> are dropped.</summary>
    public bool IsCut(ulong from, ulong to) => _cut.Contains((from, to));

    /// <summary>Cuts every link between the groups (links inside a group stay).</summary>
    public void Partition(IReadOnlyList<IReadOnlyList<ulong>> groups)
    {
        _cut.Clear();
        for (var a = 0; a < groups.Count; a++)
        for (var b = 0; b < groups.Count; b++)
        {
            if (a == b) continue;
            foreach (var x in groups[a])
            foreach (var y in groups[b]) _cut.Add((x, y));
        }
    }

    /// <summary>Cuts one node off from every other.</summary>
    public void Isolate(ulong id, IEnumerable<ulong> all)
    {
        foreach (var other in all)
        {
            if (other == id) continue;
            _cut.Add((id, other));
            _cut.Add((other, id));
        }
    }

    /// <summary>Drops messages between <paramref name="a"/> and <paramref name="b"/>, both ways, until healed.</summary>
    public void CutLink(ulong a, ulong b)
    {
        _cut.Add((a, b));
        _cut.Add((b, a));
    }

    /// <summary>Delivers every parked message at <paramref name="now"/> (still subject to cuts and the filter).</summary>
    public void ReleaseHeld(long now)
    {
        foreach (var m in _held) _inFlight.Add((now, _seq++, m));
        _held.Clear();
    }

    /// <summary>Restores every cut link.</summary>
    public void Heal() => _cut.Clear();

    /// <summary>Drops every message in flight or held (as when the whole network restarts).</summary>
    public void Clear()
    {
        _inFlight.Clear();
        _held.Clear();
    }
}
