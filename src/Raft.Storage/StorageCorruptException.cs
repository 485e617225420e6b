namespace RaftKv.Raft.Storage;

/// <summary>
/// Recovery found data that is damaged (not merely a torn last write): a checksum mismatch, an impossible field, a
/// missing segment. The node must not start, because guessing could break a promise it made (a vote, an
/// acknowledged entry). The message names the file, the byte offset and what was expected there.
/// </summary>
public sealed class StorageCorruptException : StorageException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="filePath">The damaged file (or the directory, for a missing file).</param>
    /// <param name="offsetBytes">Byte offset in the file where the damage starts, or -1 when it is not about one place.</param>
    /// <param name="expected">What a valid file holds there.</param>
    /// <param name="found">What was found instead.</param>
    public StorageCorruptException(string filePath, long offsetBytes, string expected, string found)
        : base(Describe(filePath, offsetBytes, expected, found), filePath)
    {
        FilePath = filePath;
        OffsetBytes = offsetBytes;
        Expected = expected;
        Found = found;
    }

    /// <summary>The damaged file.</summary>
    public string FilePath { get; }

    /// <summary>Byte offset of the damage in <see cref="FilePath"/>, or -1 when it is not about one place.</summary>
    public long OffsetBytes { get; }

    /// <summary>What a valid file holds at that place.</summary>
    public string Expected { get; }

    /// <summary>What was found instead.</summary>
    public string Found { get; }

    private static string Describe(string filePath, long offsetBytes, string expected, string found)
    {
        var where = offsetBytes >= 0 ? $"'{filePath}' at byte offset {offsetBytes}" : $"'{filePath}'";
        return $"storage is corrupt in {where}: expected {expected}, found {found}. "
            + "Refusing to start: restore this node's data directory from a healthy replica or a backup.";
    }
}
