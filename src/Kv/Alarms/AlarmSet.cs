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

    /// <summary>Raises an alarm; false when it was already raised.</summary>
    public bool Activate(ulong memberId, AlarmType type)
    {
        if (type == AlarmType.None || !Enum.IsDefined(type))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "not an alarm that can be raised");
        }

        if (alarms.Count >= MaxAlarms && !alarms.Contains((memberId, type)))
        {
            throw new InvalidOperationException($"more than {MaxAlarms} alarms");
        }

        return alarms.Add((memberId, type));
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
