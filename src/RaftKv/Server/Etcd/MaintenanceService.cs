using System.IO.Pipelines;
using System.Security.Cryptography;
using Grpc.Core;
using RaftKv.Etcd.Api;
using RaftKv.Kv;

namespace RaftKv.Server.Etcd;

/// <summary>etcd's Maintenance service: status, alarms, hashes, snapshot download and leadership transfer.</summary>
public sealed class MaintenanceService(NodeContext node) : Maintenance.MaintenanceBase
{
    private const int SnapshotChunkBytes = 64 * 1024;

    public override Task<StatusResponse> Status(StatusRequest request, ServerCallContext context)
    {
        var status = node.Status ?? throw new RpcException(new Status(StatusCode.Unavailable, "etcdserver: not started"));
        var store = node.Machine.Store;
        var response = new StatusResponse
        {
            Header = node.Header(),
            Version = EtcdVersion.Server,
            DbSize = store.PhysicalSizeBytes,
            DbSizeInUse = store.SizeBytes,
            DbSizeQuota = node.Settings.QuotaBackendBytes,
            Leader = status.Leader,
            RaftIndex = status.Commit,
            RaftTerm = status.Term,
            RaftAppliedIndex = status.Applied,
            IsLearner = false,
        };
        foreach (var alarm in store.Alarms) response.Errors.Add($"memberID:{alarm.MemberID} alarm:{alarm.Alarm}");
        return Task.FromResult(response);
    }

    public override async Task<AlarmResponse> Alarm(AlarmRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (request.Action == AlarmRequest.Types.AlarmAction.Get)
        {
            await node.Proposer.ReadBarrierAsync(context.CancellationToken).ConfigureAwait(false);
            var response = new AlarmResponse { Header = node.Header() };
            response.Alarms.AddRange(node.Machine.Store.Alarms.Where(a =>
                (request.MemberID == 0 || a.MemberID == request.MemberID) && (request.Alarm == AlarmType.None || a.Alarm == request.Alarm)));
            return response;
        }
        // Alarms are raised for a member of the cluster, or for member 0 (the cluster as a whole: python-etcd3's and
        // aetcd's create_alarm() send it). etcd 3.4 takes any id, so one client could fill the alarm table with
        // made-up ones; raftkv refuses those here (and apply stays total if a flood reaches the log anyway).
        // Clearing stays open to any id, so an alarm left by a removed member can still be disarmed.
        if (request.Action == AlarmRequest.Types.AlarmAction.Activate && request.MemberID != 0 && node.Members.Find(request.MemberID) is null)
            throw new RpcException(new Status(StatusCode.NotFound, "etcdserver: member not found"));
        if (request.Action is not (AlarmRequest.Types.AlarmAction.Activate or AlarmRequest.Types.AlarmAction.Deactivate))
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"raftkv: unknown alarm action {(int)request.Action}"));
        var applied = (AlarmResponse)await node.Proposer.ProposeAsync(new KvCommand { Alarm = request }, AlarmResponse.Parser, context.CancellationToken).ConfigureAwait(false);
        node.Header(applied.Header ??= new ResponseHeader());
        return applied;
    }

    public override Task<HashResponse> Hash(HashRequest request, ServerCallContext context)
    {
        var response = node.Machine.Store.Hash();
        node.Header(response.Header ??= new ResponseHeader());
        return Task.FromResult(response);
    }

    public override Task<HashKVResponse> HashKV(HashKVRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            var response = node.Machine.Store.HashKV(request.Revision);
            node.Header(response.Header ??= new ResponseHeader());
            return Task.FromResult(response);
        }
        catch (KvException e)
        {
            throw EtcdErrors.From(e.Error);
        }
    }

    /// <summary>
    /// On disk, compacts the store's files (dropping what compaction and deletes left) online: unlike etcd's
    /// defragment, reads and writes go on meanwhile. In memory there is nothing to defragment.
    /// </summary>
    public override async Task<DefragmentResponse> Defragment(DefragmentRequest request, ServerCallContext context)
    {
        await Task.Run(node.Machine.Store.Defragment).ConfigureAwait(false);
        return new DefragmentResponse { Header = node.Header() };
    }

    /// <summary>Streams the whole store (raftkv's snapshot format) followed, like etcd, by its SHA-256.</summary>
    public override async Task Snapshot(SnapshotRequest request, IServerStreamWriter<SnapshotResponse> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        var pipe = new Pipe();
        // A point-in-time copy: writes go on being applied while a slow client reads the stream.
        var snapshot = node.Machine.Store.CaptureSnapshot();
        var writer = Task.Run(() =>
        {
            try
            {
                using var stream = pipe.Writer.AsStream(leaveOpen: true);
                snapshot.WriteTo(stream);
                pipe.Writer.Complete();
            }
            catch (Exception e)
            {
                pipe.Writer.Complete(e);
            }
        }, context.CancellationToken);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var source = pipe.Reader.AsStream();
        var buffer = new byte[SnapshotChunkBytes];
        int read;
        while ((read = await source.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, context.CancellationToken).ConfigureAwait(false)) > 0)
        {
            sha.AppendData(buffer, 0, read);
            await responseStream.WriteAsync(new SnapshotResponse
            {
                Header = node.Header(), RemainingBytes = 1, Blob = Google.Protobuf.ByteString.CopyFrom(buffer, 0, read), Version = EtcdVersion.Server,
            }, context.CancellationToken).ConfigureAwait(false);
        }
        await writer.ConfigureAwait(false);
        await responseStream.WriteAsync(new SnapshotResponse
        {
            Header = node.Header(), RemainingBytes = 0, Blob = Google.Protobuf.ByteString.CopyFrom(sha.GetHashAndReset()), Version = EtcdVersion.Server,
        }, context.CancellationToken).ConfigureAwait(false);
    }

    public override async Task<MoveLeaderResponse> MoveLeader(MoveLeaderRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (node.Members.Find(request.TargetID) is not { IsLearner: false })
            throw new RpcException(new Status(StatusCode.NotFound, "etcdserver: bad leader transferee"));
        var status = await node.Host.TransferLeadershipAsync(request.TargetID, context.CancellationToken).ConfigureAwait(false);
        if (status is Raft.RequestStatus.NoLeader) throw EtcdErrors.NoLeader();
        if (status is Raft.RequestStatus.Invalid) throw new RpcException(new Status(StatusCode.FailedPrecondition, "etcdserver: bad leader transferee"));
        // Like etcd, answer once the target leads (or time out).
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        timeout.CancelAfter(KvProposer.RequestTimeout);
        try
        {
            while (node.Status?.Leader != request.TargetID) await Task.Delay(10, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, "etcdserver: leadership transfer timed out"));
        }
        return new MoveLeaderResponse { Header = node.Header() };
    }
}
