namespace RaftKv.Kv;

/// <summary>A request the store refused, thrown by the read methods of <see cref="KvStore"/>.</summary>
public sealed class KvException : Exception
{
    /// <summary>Creates the exception for an error.</summary>
    public KvException(KvError error)
        : base(error?.Message)
    {
        ArgumentNullException.ThrowIfNull(error);
        Error = error;
    }

    /// <summary>The error, with etcd's status code and message.</summary>
    public KvError Error { get; }
}
