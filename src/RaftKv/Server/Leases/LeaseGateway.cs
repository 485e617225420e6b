using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using RaftKv.Etcd.Api;
using RaftKv.Kv;
using RaftKv.Raft;
using RaftKv.Server.Etcd;

namespace RaftKv.Server.Leases;

/// <summary>
/// Keep-alives and time-to-live questions, which only the leader can answer because only it keeps the lease clock:
/// answered here on the leader, forwarded to it from a follower over the peer forwarding path (as etcd forwards
/// LeaseKeepAlive and LeaseTimeToLive to its leader over HTTP), so a client's keep-alive stream may stay open on any
/// member. One request, one forward, each bounded by <see cref="KvProposer.RequestTimeout"/>.
/// </summary>
public sealed class LeaseGateway(NodeContext node, LeaseClock clock)
{
    /// <summary>Most attached keys a time-to-live answer lists (etcd lists all; this bounds one response).</summary>
    public const int MaxKeysListed = 100_000;

    /// <summary>Keep-alive streams one member serves at once; one more is refused with ResourceExhausted.</summary>
    public const int MaxKeepAliveStreams = 10_000;

    private int keepAliveStreams;

    /// <summary>Keep-alive streams open now.</summary>
    public int KeepAliveStreams => Volatile.Read(ref keepAliveStreams);

    /// <summary>Counts a keep-alive stream in; false (nothing counted) when <see cref="MaxKeepAliveStreams"/> are open.</summary>
    public bool TryOpenKeepAliveStream()
    {
        if (Interlocked.Increment(ref keepAliveStreams) <= MaxKeepAliveStreams) return true;
        Interlocked.Decrement(ref keepAliveStreams);
        return false;
    }

    /// <summary>Counts a keep-alive stream out.</summary>
    public void CloseKeepAliveStream() => Interlocked.Decrement(ref keepAliveStreams);

    /// <summary>etcd's ErrGRPCNotLeader: a member that thought it led was asked, and no longer leads; clients retry.</summary>
    public static RpcException NotLeader() => new(new Status(StatusCode.Unavailable, "etcdserver: not leader"));

    /// <summary>Renews lease <paramref name="id"/> at the leader; TTL 0 in the answer when it does not exist.</summary>
    public async Task<LeaseKeepAliveResponse> KeepAliveAsync(long id, CancellationToken cancellationToken)
    {
        var question = new KvCommand { LeaseKeepAlive = new LeaseKeepAliveRequest { ID = id } };
        var response = await AskLeaderAsync(question, LeaseKeepAliveResponse.Parser, cancellationToken).ConfigureAwait(false)
            ?? await KeepAliveHereAsync(id, cancellationToken).ConfigureAwait(false);
        node.Header(response.Header ??= new ResponseHeader());
        return response;
    }

    /// <summary>Lease <paramref name="request"/>.ID's remaining and granted TTL, from the leader; TTL -1 when it does not exist.</summary>
    public async Task<LeaseTimeToLiveResponse> TimeToLiveAsync(LeaseTimeToLiveRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var question = new KvCommand { LeaseTimeToLive = request };
        var response = await AskLeaderAsync(question, LeaseTimeToLiveResponse.Parser, cancellationToken).ConfigureAwait(false)
            ?? TimeToLiveHere(request);
        node.Header(response.Header ??= new ResponseHeader());
        return response;
    }

    /// <summary>
    /// The leader's side of the forwarding path: the outcome of a forwarded lease question, or null when
    /// <paramref name="command"/> is not one (a write, for <see cref="KvProposer.HandleForwardedAsync"/>).
    /// </summary>
    public static Task<ReadOnlyMemory<byte>>? TryAnswerForwarded(LeaseGateway gateway, ReadOnlyMemory<byte> command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(gateway);
        return AsLeaseQuestion(command) is { } question ? gateway.AnswerForwardedAsync(question, cancellationToken) : null;
    }

    private async Task<ReadOnlyMemory<byte>> AnswerForwardedAsync(KvCommand question, CancellationToken cancellationToken)
    {
        try
        {
            IMessage answer = question.RequestCase == KvCommand.RequestOneofCase.LeaseKeepAlive
                ? await KeepAliveHereAsync(question.LeaseKeepAlive.ID, cancellationToken).ConfigureAwait(false)
                : TimeToLiveHere(question.LeaseTimeToLive);
            return ForwardedResult.Encode(new WriteOutcome(answer, 0, ""));
        }
        catch (RpcException e)
        {
            return ForwardedResult.Encode(new WriteOutcome(null, (int)e.StatusCode, e.Status.Detail));
        }
    }

    // etcd's Renew: a lease with a checkpointed remaining TTL has it cleared through the log before the renewal is
    // answered, so an acknowledged keep-alive is never undone by a later leader starting from the old remaining TTL.
    // At most one such entry per lease per checkpoint interval, as the checkpoint itself is. A clear that fails
    // fails the keep-alive (the client retries), where etcd ignores the failure and renews anyway.
    private async Task<LeaseKeepAliveResponse> KeepAliveHereAsync(long id, CancellationToken cancellationToken)
    {
        if (!clock.IsLeading()) throw NotLeader();
        if (clock.TakeCheckpointToClear(id))
        {
            var clear = new KvCommand { LeaseCheckpoint = new LeaseCheckpointRequest { Checkpoints = { new LeaseCheckpoint { ID = id, RemainingTTL = 0 } } } };
            try
            {
                await node.Proposer.ProposeAsync(clear, LeaseCheckpointResponse.Parser, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                clock.MarkCheckpointProposed(id);
                throw;
            }
        }

        return new LeaseKeepAliveResponse { Header = new ResponseHeader(), ID = id, TTL = clock.Renew(id) };
    }

    private LeaseTimeToLiveResponse TimeToLiveHere(LeaseTimeToLiveRequest request)
    {
        if (!clock.IsLeading()) throw NotLeader();
        var response = new LeaseTimeToLiveResponse { Header = new ResponseHeader(), ID = request.ID, TTL = -1 };
        if (clock.TimeToLive(request.ID) is { } ttl)
        {
            response.TTL = ttl.RemainingSeconds;
            response.GrantedTTL = ttl.GrantedSeconds;
            if (request.Keys) response.Keys.AddRange(node.Machine.Store.LeaseKeys(request.ID, MaxKeysListed));
        }
        return response;
    }

    // Null: this member leads, answer here. Otherwise the leader's answer, or etcd's error.
    private async Task<T?> AskLeaderAsync<T>(KvCommand question, MessageParser<T> parser, CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        var status = node.Status;
        var leader = status?.Leader ?? RaftNode.None;
        if (leader == RaftNode.None) throw EtcdErrors.NoLeader();
        if (leader == node.Settings.Self.Id) return null;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(KvProposer.RequestTimeout);
        ReadOnlyMemory<byte> reply;
        try
        {
            reply = await node.Forwarder.ForwardAsync(leader, question.ToByteArray(), timeout.Token).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode != StatusCode.Cancelled || !cancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"etcdserver: leader unreachable: {e.Status.Detail}"));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw EtcdErrors.Timeout();
        }
        var outcome = ForwardedResult.Decode(reply.Span, parser);
        if (outcome.Failed) throw new RpcException(new Status((StatusCode)outcome.ErrorCode, outcome.ErrorMessage));
        return (T)outcome.Response!;
    }

    // Looks at the top-level fields only, skipping each without reading it, so a forwarded 16 MiB put costs no parse.
    private static KvCommand? AsLeaseQuestion(ReadOnlyMemory<byte> command)
    {
        var array = MemoryMarshal.TryGetArray(command, out var segment) ? segment : new ArraySegment<byte>(command.ToArray());
        try
        {
            var input = new CodedInputStream(array.Array!, array.Offset, array.Count);
            for (var fields = 0; fields < 64; fields++)
            {
                var tag = input.ReadTag();
                if (tag == 0) return null;
                var field = WireFormat.GetTagFieldNumber(tag);
                if (field is KvCommand.LeaseKeepAliveFieldNumber or KvCommand.LeaseTimeToLiveFieldNumber)
                {
                    var question = KvCommand.Parser.ParseFrom(array.Array!, array.Offset, array.Count);
                    return question.RequestCase is KvCommand.RequestOneofCase.LeaseKeepAlive or KvCommand.RequestOneofCase.LeaseTimeToLive ? question : null;
                }
                input.SkipLastField();
            }
        }
        catch (InvalidProtocolBufferException)
        {
            // Not ours to judge: the proposer refuses it.
        }
        return null;
    }
}
