using RaftKv.Etcd.Api;

namespace RaftKv.Kv.Alarms;

/// <summary>
/// The raised alarms, part of the replicated state: kept sorted by (member, type) so listings, hashes and snapshots
/// come out the same on every member.
/// </summary>
internal sealed class AlarmSet
{
    // Alarm types are a handful and members a few; far more is a bug or abuse.
    public const int MaxAlarms = 1024;

    private readonly SortedSet<(ulong MemberId, AlarmType Type)> alarms = new();

    public int Count => alarms.Count;

    /// <summary>A copy to change while the original stays as it was (the disk engine's readers keep the original).</summary>
    public AlarmSet Clone()
    {
        var copy = new AlarmSet();
        copy.alarms.UnionWith(alarms);
        return copy;
    }

    public bool Has(AlarmType type)
    {
        foreach (var alarm in alarms)
        {
            if (alarm.Type == type)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>What <see cref="Activate"/> did.</summary>
    public enum Outcome
    {
        /// <summary>The alarm is now raised.</summary>
        Raised,

        /// <summary>It was raised already; nothing changed.</summary>
        AlreadyRaised,

        /// <summary><see cref="MaxAlarms"/> other alarms are raised; nothing changed.</summary>
        Full,
    }

    /// <summary>Whether <paramref name="type"/> names an alarm that can be raised (NOSPACE, CORRUPT).</summary>
    public static bool CanRaise(AlarmType type) => type is AlarmType.Nospace or AlarmType.Corrupt;

    /// <summary>
    /// Raises an alarm. Total on input that came through the log: a full set is an outcome, not an exception.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="type"/> cannot be raised (a caller's bug: check <see cref="CanRaise"/>).</exception>
    public Outcome Activate(ulong memberId, AlarmType type)
    {
        if (!CanRaise(type))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "not an alarm that can be raised");
        }

        if (alarms.Contains((memberId, type)))
        {
            return Outcome.AlreadyRaised;
        }

        if (alarms.Count >= MaxAlarms)
        {
            return Outcome.Full;
        }

        alarms.Add((memberId, type));
        return Outcome.Raised;
    }

    /// <summary>Clears an alarm; false when it was not raised.</summary>
    public bool Deactivate(ulong memberId, AlarmType type) => alarms.Remove((memberId, type));

    /// <summary>The alarms of one type, or all of them for <see cref="AlarmType.None"/>, in (member, type) order.</summary>
    public List<AlarmMember> Get(AlarmType type)
    {
        var result = new List<AlarmMember>();
        foreach (var (memberId, alarmType) in alarms)
        {
            if (type == AlarmType.None || alarmType == type)
            {
                result.Add(new AlarmMember { MemberID = memberId, Alarm = alarmType });
            }
        }

        return result;
    }

    public IEnumerable<(ulong MemberId, AlarmType Type)> All => alarms;
}
