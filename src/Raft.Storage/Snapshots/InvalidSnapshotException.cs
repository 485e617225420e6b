namespace RaftKv.Raft.Storage.Snapshots;

/// <summary>A snapshot file failed validation. Internal: recovery reports it and skips the file.</summary>
internal sealed class InvalidSnapshotException(string reason) : Exception(reason);
