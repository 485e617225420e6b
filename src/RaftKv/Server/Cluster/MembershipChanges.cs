using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using RaftKv.Etcd.Api;
using EtcdMember = RaftKv.Etcd.Api.Member;
using RaftKv.Raft;
using RaftKv.Raft.Hosting;
using RaftKv.Server.Etcd;

namespace RaftKv.Server.Cluster;

/// <summary>
/// etcd's MemberAdd, MemberRemove, MemberUpdate and MemberPromote, and a started member publishing its name and
/// client URLs: checked against the applied member table with etcd's rules and errors, then proposed as one
/// configuration change through the Raft log. Only the leader proposes; a follower hands the request to it
/// (<see cref="PeerClusterService"/>), so every answer reflects the leader's table after the change.
/// </summary>
/// <remarks>
/// One change at a time on this member (the Raft core also refuses a second while one is unapplied): the table a
/// request is checked against is the one the change applies to. Learner promotion follows etcd's readiness rule (the
/// learner's match index at least 90% of the leader's); adding a voter and removing one follow etcd's strict
/// reconfiguration check on started members.
/// </remarks>
public sealed class MembershipChanges(NodeContext node)
{
    /// <summary>Most members (voters and learners) a cluster may have.</summary>
    public const int MaxMembers = 64;

    /// <summary>A learner is ready for promotion once its match index reaches this share of the leader's (etcd's).</summary>
    public const double LearnerReadyShare = 0.9;

    private static readonly TimeSpan PendingRetryFor = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan PendingRetryDelay = TimeSpan.FromMilliseconds(50);

    private readonly SemaphoreSlim _oneAtATime = new(1, 1);

    /// <summary>Adds a member (a voter, or a learner) with these peer URLs; the answer names the new member.</summary>
    public async Task<(EtcdMember Added, MemberTable Table)> AddAsync(MemberAddRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        // Sorted as etcd's MemberAdd stores them (types.NewURLs sorts); its MemberUpdate keeps the order given.
        var urls = CheckUrls(request.PeerURLs).Order(StringComparer.Ordinal).ToArray();
        return await ChangeAsync(table =>
        {
            if (table.Members.Count >= MaxMembers) throw MemberErrors.TooManyMembers();
            if (urls.Any(u => table.FindByPeerUrl(u) is not null)) throw MemberErrors.PeerUrlExists();
            if (request.IsLearner && table.Learners.Count() >= node.Settings.MaxLearners) throw MemberErrors.TooManyLearners();
            if (!request.IsLearner && !IsReadyToAddVoter(table)) throw MemberErrors.NotEnoughStarted();
            var id = NewMemberId(table, urls);
            var member = new EtcdMember { ID = id, PeerURLs = { urls }, IsLearner = request.IsLearner };
            var change = ConfChange.Single(request.IsLearner ? ConfChangeType.AddLearner : ConfChangeType.AddVoter, id);
            return (With(change, new MemberChange { Member = member }), member);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Removes a member; removing the leader hands leadership to another voter first.</summary>
    public async Task<MemberTable> RemoveAsync(ulong id, CancellationToken cancellationToken)
    {
        if (id == node.Settings.Self.Id && node.Status?.Role == RaftRole.Leader && node.Members.Find(id) is { IsLearner: false })
        {
            await HandOffLeadershipAsync(cancellationToken).ConfigureAwait(false);
            return (await RouteAsync(new ForwardedChange { Remove = new MemberRemoveRequest { ID = id } }, cancellationToken).ConfigureAwait(false)).Table;
        }
        return (await ChangeAsync(table =>
        {
            var member = table.Find(id) ?? throw MemberErrors.NotFound();
            if (!member.IsLearner && !IsReadyToRemoveVoter(table, id)) throw MemberErrors.NotEnoughStarted();
            return (ConfChange.Single(ConfChangeType.Remove, id), (EtcdMember?)null);
        }, cancellationToken).ConfigureAwait(false)).Table;
    }

    /// <summary>Replaces a member's peer URLs.</summary>
    public async Task<MemberTable> UpdateAsync(MemberUpdateRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var urls = CheckUrls(request.PeerURLs);
        return (await ChangeAsync(table =>
        {
            if (table.Find(request.ID) is null) throw MemberErrors.NotFound();
            if (urls.Any(u => table.FindByPeerUrl(u) is { } other && other.Id != request.ID)) throw MemberErrors.PeerUrlExists();
            var change = ConfChange.Single(ConfChangeType.UpdateNode, request.ID);
            return (With(change, new MemberChange { Member = new EtcdMember { ID = request.ID, PeerURLs = { urls } }, SetPeerUrls = true }), (EtcdMember?)null);
        }, cancellationToken).ConfigureAwait(false)).Table;
    }

    /// <summary>Turns a learner that has caught up into a voter.</summary>
    public async Task<MemberTable> PromoteAsync(ulong id, CancellationToken cancellationToken) =>
        (await ChangeAsync(table =>
        {
            var member = table.Find(id) ?? throw MemberErrors.NotFound();
            if (!member.IsLearner) throw MemberErrors.NotLearner();
            if (!IsLearnerReady(id)) throw MemberErrors.LearnerNotReady();
            return (ConfChange.Single(ConfChangeType.PromoteLearner, id), (EtcdMember?)null);
        }, cancellationToken).ConfigureAwait(false)).Table;

    /// <summary>Publishes a started member's name and client URLs through the log (etcd's attribute publication).</summary>
    public async Task<MemberTable> PublishAsync(EtcdMember attributes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(attributes);
        return (await ChangeAsync(table =>
        {
            if (table.Find(attributes.ID) is null) throw MemberErrors.NotFound();
            var change = ConfChange.Single(ConfChangeType.UpdateNode, attributes.ID);
            var member = new EtcdMember { ID = attributes.ID, Name = attributes.Name, ClientURLs = { attributes.ClientURLs } };
            return (With(change, new MemberChange { Member = member, SetAttributes = true }), (EtcdMember?)null);
        }, cancellationToken).ConfigureAwait(false)).Table;
    }

    /// <summary>Carries out a request a follower forwarded (this member being the leader), as a reply for it.</summary>
    public async Task<ForwardedChangeReply> HandleForwardedAsync(ForwardedChange request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            var reply = new ForwardedChangeReply();
            MemberTable table;
            switch (request.RequestCase)
            {
                case ForwardedChange.RequestOneofCase.Add:
                    (var added, table) = await AddAsync(request.Add, cancellationToken).ConfigureAwait(false);
                    reply.Member = added;
                    break;
                case ForwardedChange.RequestOneofCase.Remove:
                    table = await RemoveAsync(request.Remove.ID, cancellationToken).ConfigureAwait(false);
                    break;
                case ForwardedChange.RequestOneofCase.Update:
                    table = await UpdateAsync(request.Update, cancellationToken).ConfigureAwait(false);
                    break;
                case ForwardedChange.RequestOneofCase.Promote:
                    table = await PromoteAsync(request.Promote.ID, cancellationToken).ConfigureAwait(false);
                    break;
                case ForwardedChange.RequestOneofCase.Publish:
                    table = await PublishAsync(request.Publish, cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    return new ForwardedChangeReply { Code = (int)StatusCode.InvalidArgument, Message = "raftkv: empty membership request" };
            }
            reply.Members.AddRange(table.Members.Select(m => m.ToProto()));
            return reply;
        }
        catch (RpcException e)
        {
            return new ForwardedChangeReply { Code = (int)e.StatusCode, Message = e.Status.Detail };
        }
        catch (NotLeaderRetry)
        {
            return LeaderChanged;
        }
    }

    private static ForwardedChangeReply LeaderChanged => new() { Code = (int)StatusCode.Unavailable, Message = EtcdErrors.LeaderChanged().Status.Detail };

    private static bool IsLeaderChanged(ForwardedChangeReply reply) => reply.Code == LeaderChanged.Code && reply.Message == LeaderChanged.Message;

    // Checks and proposes on the leader, or hands the whole request to the leader. `plan` sees the applied table and
    // returns the change (or throws etcd's error).
    private async Task<(EtcdMember Added, MemberTable Table)> ChangeAsync(Func<MemberTable, (ConfChange Change, EtcdMember? Added)> plan, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(KvProposer.RequestTimeout);
        await _oneAtATime.WaitAsync(timeout.Token).ConfigureAwait(false);
        try
        {
            var retryUntil = DateTime.UtcNow + PendingRetryFor;
            while (true)
            {
                var (change, added) = plan(node.Members);
                try
                {
                    var result = await node.Host.ProposeConfChangeAsync(change, timeout.Token).ConfigureAwait(false);
                    return (added ?? new EtcdMember(), result as MemberTable ?? node.Members);
                }
                catch (ConfChangeRefusedException e) when (e.Kind == ConfChangeRefusalKind.Pending && DateTime.UtcNow < retryUntil)
                {
                    await Task.Delay(PendingRetryDelay, timeout.Token).ConfigureAwait(false); // a new leader applying its predecessor's change
                }
            }
        }
        catch (ConfChangeRefusedException e)
        {
            throw e.Kind == ConfChangeRefusalKind.Invalid ? MemberErrors.Refused(e.Reason) : EtcdErrors.Timeout();
        }
        catch (NotLeaderException)
        {
            throw new NotLeaderRetry();
        }
        catch (RaftHostException e)
        {
            throw EtcdErrors.From(e);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw EtcdErrors.Timeout();
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    /// <summary>Runs a request here if this member leads, else on the leader; in both cases with the leader's answer.</summary>
    public async Task<(EtcdMember Added, MemberTable Table)> RouteAsync(ForwardedChange request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(KvProposer.RequestTimeout);
        try
        {
            while (true)
            {
                var leader = node.Status?.Leader ?? RaftNode.None;
                ForwardedChangeReply? reply = null;
                if (leader == node.Settings.Self.Id && node.Status?.Role == RaftRole.Leader)
                {
                    reply = await HandleForwardedAsync(request, timeout.Token).ConfigureAwait(false);
                }
                else if (leader != RaftNode.None && node.Members.Find(leader) is { PeerUrls.Count: > 0 } target)
                {
                    request.ClusterId = node.ClusterId;
                    reply = await node.PeerClients.Get(target.PeerUrls[0]).ForwardAsync(request, cancellationToken: timeout.Token).ConfigureAwait(false);
                }
                if (reply is { Code: 0 }) return (reply.Member ?? new EtcdMember(), Table(reply.Members));
                if (reply is not null && !IsLeaderChanged(reply)) throw new RpcException(new Status((StatusCode)reply.Code, reply.Message));
                await Task.Delay(PendingRetryDelay, timeout.Token).ConfigureAwait(false); // no leader yet, or it changed
            }
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded && e.Status.Detail.StartsWith("Error", StringComparison.Ordinal))
        {
            throw EtcdErrors.NoLeader(); // the leader's peer port did not answer
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw EtcdErrors.Timeout();
        }
    }

    // Thesis section 3.10: the leader hands over to the most up-to-date voter before it is removed. The core aborts a
    // transfer whose target does not catch up within an election timeout (under write load it may not), so this
    // asks again, each time for whichever voter is furthest along, until another member leads or the bound passes.
    private async Task HandOffLeadershipAsync(CancellationToken cancellationToken)
    {
        var self = node.Settings.Self.Id;
        var electionTimeout = TimeSpan.FromMilliseconds(node.Settings.ElectionTimeoutMs);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(KvProposer.RequestTimeout);
        try
        {
            while (true)
            {
                var status = node.Status;
                if (status is null || status.Role != RaftRole.Leader)
                {
                    if (status is { Leader: not RaftNode.None } && status.Leader != self) return;
                    await Task.Delay(10, timeout.Token).ConfigureAwait(false); // electing
                    continue;
                }
                var target = status.Progress.Where(p => p.Id != self && !p.IsLearner && node.Members.Find(p.Id) is { IsLearner: false })
                    .OrderByDescending(p => p.RecentActive).ThenByDescending(p => p.Match).Select(p => p.Id).FirstOrDefault();
                if (target == RaftNode.None) throw MemberErrors.Refused("the leader is the only voter");
                await node.Host.TransferLeadershipAsync(target, timeout.Token).ConfigureAwait(false);
                var askedAt = DateTime.UtcNow;
                while (node.Status is { Role: RaftRole.Leader } && DateTime.UtcNow - askedAt < 2 * electionTimeout)
                    await Task.Delay(10, timeout.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw EtcdErrors.Timeout();
        }
    }

    private static MemberTable Table(IEnumerable<EtcdMember> members)
    {
        var record = new ClusterRecord { Members = { members } };
        return MemberTable.Decode(record.ToByteArray());
    }

    private static ConfChange With(ConfChange change, MemberChange context) =>
        new(change.Changes, change.Transition, context.ToByteArray());

    // etcd's IsReadyToAddVotingMember: the started voters must still form a quorum of the grown voter set.
    private static bool IsReadyToAddVoter(MemberTable table)
    {
        var voters = table.Voters.ToArray();
        var started = voters.Count(v => v.IsStarted);
        var grown = voters.Length + 1;
        if (started == 1 && grown == 2) return true; // growing a single member, as when restoring a cluster from one
        return started >= grown / 2 + 1;
    }

    // etcd's IsReadyToRemoveVotingMember: the started voters left must still form a quorum of the shrunk voter set.
    private static bool IsReadyToRemoveVoter(MemberTable table, ulong id)
    {
        var left = table.Voters.Where(v => v.Id != id).ToArray();
        if (left.Length == 0) return false;
        return left.Count(v => v.IsStarted) >= left.Length / 2 + 1;
    }

    /// <summary>Whether this member leads and learner <paramref name="id"/> is in sync by etcd's rule.</summary>
    public bool IsLearnerReady(ulong id) => node.Status is { Role: RaftRole.Leader } status && IsInSync(status, id);

    /// <summary>
    /// etcd's readiness rule on a leader's status: <paramref name="id"/>'s match index is at least
    /// <see cref="LearnerReadyShare"/> of the leader's last index (false when the leader tracks no such follower).
    /// </summary>
    public static bool IsInSync(RaftStatus status, ulong id)
    {
        ArgumentNullException.ThrowIfNull(status);
        var follower = status.Progress.FirstOrDefault(p => p.Id == id);
        return follower.Id == id && follower.Match >= (ulong)(status.LastIndex * LearnerReadyShare);
    }

    // The peer URLs of a request, normalized as etcd prints them (scheme://host:port), or etcd's bad-URL error.
    private static string[] CheckUrls(IEnumerable<string> urls)
    {
        var list = urls.ToArray();
        if (list.Length == 0 || list.Length > MemberTable.MaxUrls) throw MemberErrors.BadUrls();
        var normalized = new string[list.Length];
        for (var i = 0; i < list.Length; i++)
        {
            if (list[i].Length > MemberTable.MaxFieldChars || !Uri.TryCreate(list[i], UriKind.Absolute, out var url)
                || (url.Scheme != "http" && url.Scheme != "https") || url.Host.Length == 0 || HasPath(list[i])
                || !list[i].Contains(':' + url.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal))
                throw MemberErrors.BadUrls();
            // Uri leaves a scheme's default port out of its authority; etcd keeps the port that was given.
            normalized[i] = url.GetLeftPart(UriPartial.Authority) + (url.IsDefaultPort ? ":" + url.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) : "");
        }
        return normalized;
    }

    // etcd's types.NewURLs refuses any path, "/" included (Go's url.Parse leaves Path empty only when nothing follows
    // the authority); .NET's Uri reports "/" for both "http://h:1" and "http://h:1/", so look at the text itself.
    private static bool HasPath(string url)
    {
        var authority = url.IndexOf("://", StringComparison.Ordinal) + 3;
        var end = url.IndexOfAny(['/', '?', '#'], authority);
        return end >= 0 && url[end] == '/';
    }

    // As etcd: derived from the peer URLs, the cluster and the time, so a member added again gets a new id; never 0,
    // never one in use or removed.
    private ulong NewMemberId(MemberTable table, string[] urls)
    {
        for (var attempt = 0; ; attempt++)
        {
            var text = $"{string.Join(",", urls.Order(StringComparer.Ordinal))}|{node.ClusterId:x16}|{DateTime.UtcNow.Ticks}|{attempt}";
            var id = BitConverter.ToUInt64(SHA256.HashData(Encoding.UTF8.GetBytes(text)), 0);
            if (id != RaftNode.None && table.Find(id) is null && !table.WasRemoved(id)) return id;
        }
    }

    // Thrown inside when this member stopped leading between the check and the proposal; RouteAsync then forwards.
    private sealed class NotLeaderRetry() : Exception("not the leader any more");
}
