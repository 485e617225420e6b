namespace RaftKv.Server.Leases;

/// <summary>
/// Lease ids for grants whose client left the id to the server, chosen by the proposer so apply stays a function of
/// the log. As etcd's idutil: the member id's low 16 bits, then the start time in milliseconds (40 bits) and a counter
/// (8 bits) that runs on from it, so ids of different members and of restarts of one member do not meet; the sign bit
/// is cleared, as etcd does, because lease ids are int64 and 0 means none. A clash is still possible and harmless:
/// apply refuses it with "lease already exists" and the proposer draws again.
/// </summary>
public sealed class LeaseIdGenerator
{
    private const int SuffixBits = 48;
    private const long SuffixMask = (1L << SuffixBits) - 1;
    private readonly long prefix;
    private long suffix;

    /// <summary>A generator for member <paramref name="memberId"/>, started at <paramref name="now"/>.</summary>
    public LeaseIdGenerator(ulong memberId, DateTimeOffset now)
    {
        prefix = (long)((memberId & 0xFFFF) << SuffixBits) & long.MaxValue;
        suffix = (now.ToUnixTimeMilliseconds() & ((1L << 40) - 1)) << 8;
    }

    /// <summary>The next id: never 0, never negative.</summary>
    public long Next()
    {
        while (true)
        {
            var id = prefix | (Interlocked.Increment(ref suffix) & SuffixMask);
            if (id != 0)
            {
                return id;
            }
        }
    }
}
