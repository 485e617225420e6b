using Google.Protobuf;

namespace RaftKv.Kv.Mvcc;

/// <summary>
/// One version of one key: what a put or a delete wrote at revision (<see cref="Main"/>, <see cref="Sub"/>).
/// A tombstone (delete) has no value and zero create revision, version and lease, as etcd's delete events do.
/// </summary>
internal readonly struct RevisionEntry
{
    public RevisionEntry(long main, int sub, long createRevision, long version, long lease, ByteString? value)
    {
        Main = main;
        Sub = sub;
        CreateRevision = createRevision;
        Version = version;
        Lease = lease;
        Value = value;
    }

    /// <summary>The store revision of the write transaction.</summary>
    public long Main { get; }

    /// <summary>Position of the change within its transaction, from 0.</summary>
    public int Sub { get; }

    public long CreateRevision { get; }

    public long Version { get; }

    public long Lease { get; }

    /// <summary>The value; null for a tombstone.</summary>
    public ByteString? Value { get; }

    public bool IsTombstone => Value is null;

    public static RevisionEntry Tombstone(long main, int sub) => new(main, sub, 0, 0, 0, null);

    /// <summary>Whether this entry comes strictly after revision (main, sub).</summary>
    public bool IsAfter(long main, int sub) => Main > main || (Main == main && Sub > sub);
}
