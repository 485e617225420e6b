using RaftKv.Robustness.History;

namespace RaftKv.Robustness.Tests.Checking;

/// <summary>Short builders for hand-written histories: times are small integers, clients numbered by the test.</summary>
internal sealed class H
{
    private readonly List<KvOperation> _ops = [];

    public IReadOnlyList<KvOperation> Operations => _ops;

    public H Get(int client, long call, long ret, string key, string? value, long modRevision, long revision) =>
        Add(client, call, ret, new KvInput(KvOperationKind.Get, key), new KvOutput(revision, value, modRevision));

    public H Put(int client, long call, long ret, string key, string value, long revision) =>
        Add(client, call, ret, new KvInput(KvOperationKind.Put, key, value), new KvOutput(revision));

    public H PutUnknown(int client, long call, string key, string value) =>
        Add(client, call, 0, new KvInput(KvOperationKind.Put, key, value), null);

    public H Delete(int client, long call, long ret, string key, bool deleted, long revision) =>
        Add(client, call, ret, new KvInput(KvOperationKind.Delete, key), new KvOutput(revision, Succeeded: deleted));

    public H Cas(int client, long call, long ret, string key, long expected, string value, bool succeeded, long revision) =>
        Add(client, call, ret, new KvInput(KvOperationKind.CompareAndPut, key, value, expected), new KvOutput(revision, Succeeded: succeeded));

    public H CasUnknown(int client, long call, string key, long expected, string value) =>
        Add(client, call, 0, new KvInput(KvOperationKind.CompareAndPut, key, value, expected), null);

    public H PutWithLease(int client, long call, long ret, string key, string value, long lease, long revision) =>
        Add(client, call, ret, new KvInput(KvOperationKind.Put, key, value, LeaseId: lease), new KvOutput(revision));

    public H Revoke(int client, long call, long ret, string key, long lease, long revision) =>
        Add(client, call, ret, new KvInput(KvOperationKind.LeaseRevoke, key, LeaseId: lease), new KvOutput(revision));

    public H RevokeUnknown(int client, long call, string key, long lease) =>
        Add(client, call, 0, new KvInput(KvOperationKind.LeaseRevoke, key, LeaseId: lease), null);

    private H Add(int client, long call, long ret, KvInput input, KvOutput? output)
    {
        _ops.Add(new KvOperation(_ops.Count, client, call, ret, input, output));
        return this;
    }
}
