using RaftKv.Etcd.Api.Mvccpb;

namespace RaftKv.Kv;

/// <summary>
/// A run of changes read from the store's history by <see cref="KvStore.ReadEvents"/>: whole revisions only, in
/// revision order, each event with the key's previous version when the history still has it.
/// </summary>
/// <param name="Events">The changes (PUT with the new version, DELETE with the key and the delete's revision).</param>
/// <param name="NextRevision">Where to continue: the revision after the last one returned, or after the current
/// revision when the history was read to its end.</param>
public sealed record KvEventPage(IReadOnlyList<Event> Events, long NextRevision);
