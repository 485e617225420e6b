namespace RaftKv.Kv.Backend.Snapshots;

/// <summary>
/// A member's state root cannot be trusted: its pointer file is unreadable, malformed or names a backend that is
/// missing, or backends exist without a pointer. Thrown instead of starting empty, which would silently lose the
/// state; the message names the file or directory and what is wrong.
/// </summary>
public sealed class StateDirectoryCorruptException : Exception
{
    /// <summary>Creates the exception for <paramref name="path"/>.</summary>
    public StateDirectoryCorruptException(string path, string problem, Exception? inner = null)
        : base($"State directory corrupt at '{path}': {problem}", inner)
    {
        Path = path;
    }

    /// <summary>The full path of the file or directory at fault.</summary>
    public string Path { get; }
}
