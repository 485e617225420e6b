namespace RaftKv.Kv.Backend;

/// <summary>
/// A directory cannot be opened as a backend: it is foreign (not a RocksDB database, or one without our format
/// marker), its metadata is missing or malformed, or RocksDB reports it corrupt. The message names the path.
/// </summary>
public sealed class BackendFormatException : Exception
{
    /// <summary>Creates the exception for <paramref name="directory"/>.</summary>
    public BackendFormatException(string directory, string problem, Exception? inner = null)
        : base($"'{directory}' is not a usable RaftKv backend: {problem}", inner)
    {
        Directory = directory;
    }

    /// <summary>The full path of the rejected directory.</summary>
    public string Directory { get; }
}
