using System.Text.Json;
using System.Text.Json.Serialization;
using RaftKv.Raft.Storage.Files;

namespace RaftKv.Server;

/// <summary>
/// Who a data directory belongs to: written once at bootstrap, checked on every start. <c>Joined</c>: the member
/// joined a running cluster (its id and the cluster's came from the members, not from hashing the flags).
/// </summary>
public sealed record MemberIdentity(string Name, ulong MemberId, ulong ClusterId, string InitialCluster, bool Joined = false);

/// <summary>
/// identity.json's serializer, generated at build time: the reflection-based one compiled some 150 methods and
/// emitted accessors on every start, on the path to serving (see <see cref="StartupTimeline"/>).
/// </summary>
[JsonSourceGenerationOptions(WriteIndented = true, NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(MemberIdentity))]
internal sealed partial class MemberIdentityJson : JsonSerializerContext;

/// <summary>
/// The layout of <c>--data-dir</c>: <c>member/</c> holds the write-ahead log and snapshots (Raft.Storage),
/// <c>member/state/</c> the key-value store on disk (Kv.Backend's state root), and <c>member/identity.json</c>, so a
/// directory from another member or cluster is refused instead of reused.
/// </summary>
public static class DataDirectory
{
    public static string MemberPath(string dataDir) => Path.Combine(dataDir, "member");

    public static string StatePath(string dataDir) => Path.Combine(MemberPath(dataDir), "state");

    public static string IdentityPath(string dataDir) => Path.Combine(MemberPath(dataDir), "identity.json");

    /// <summary>
    /// Written when the member learns it was removed from the cluster (from its own log or from its peers): the
    /// directory's data may never serve again, even if its log never got as far as the removal.
    /// </summary>
    public static string RemovedMarkerPath(string dataDir) => Path.Combine(MemberPath(dataDir), "removed");

    /// <summary>Records durably that this data directory's member was removed (see <see cref="RemovedMarkerPath"/>).</summary>
    public static void MarkRemoved(string dataDir, string why) =>
        DurableDirectory.WriteFileAtomically(RemovedMarkerPath(dataDir), System.Text.Encoding.UTF8.GetBytes(why + "\n"));

    /// <summary>Reads the identity, or null for a directory that was never bootstrapped.</summary>
    /// <exception cref="InvalidDataException">The identity file is unreadable.</exception>
    public static MemberIdentity? ReadIdentity(string dataDir)
    {
        var path = IdentityPath(dataDir);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(path), MemberIdentityJson.Default.MemberIdentity)
                ?? throw new InvalidDataException($"{path} is empty");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not a valid identity file: {e.Message}", e);
        }
    }

    /// <summary>Writes the identity durably: temp file, fsync, rename, then the directory synced (so the name survives power loss).</summary>
    public static void WriteIdentity(string dataDir, MemberIdentity identity) =>
        DurableDirectory.WriteFileAtomically(IdentityPath(dataDir), JsonSerializer.SerializeToUtf8Bytes(identity, MemberIdentityJson.Default.MemberIdentity));

    /// <summary>Why this directory cannot be used by this member, or null if it can.</summary>
    public static string? Mismatch(MemberIdentity stored, MemberIdentity wanted, string dataDir)
    {
        if (stored.ClusterId != wanted.ClusterId)
            return $"data directory {dataDir} belongs to cluster {stored.ClusterId:x16} (initial cluster '{stored.InitialCluster}'), " +
                   $"but the flags describe cluster {wanted.ClusterId:x16} ('{wanted.InitialCluster}'); refusing to start (nothing was changed)";
        if (stored.MemberId != wanted.MemberId || stored.Name != wanted.Name)
            return $"data directory {dataDir} belongs to member '{stored.Name}' ({stored.MemberId:x16}), not '{wanted.Name}' ({wanted.MemberId:x16}); refusing to start (nothing was changed)";
        return null;
    }
}
