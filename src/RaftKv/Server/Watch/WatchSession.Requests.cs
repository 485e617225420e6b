using RaftKv.Etcd.Api;

namespace RaftKv.Server.Watch;

/// <summary>Create, cancel and progress requests, answered as etcd answers them.</summary>
internal sealed partial class WatchSession
{
    // etcd's messages (mvcc/watcher.go), which clients match on.
    internal const string DuplicateIdReason = "mvcc: duplicate watch ID provided on the WatchStream";
    internal const string EmptyRangeReason = "mvcc: watcher range is empty";

    private async Task HandleAsync(WatchRequest request, CancellationToken cancellationToken)
    {
        switch (request.RequestUnionCase)
        {
            case WatchRequest.RequestUnionOneofCase.CreateRequest:
                await CreateAsync(request.CreateRequest, cancellationToken).ConfigureAwait(false);
                break;
            case WatchRequest.RequestUnionOneofCase.CancelRequest:
                await CancelAsync(request.CancelRequest.WatchId, cancellationToken).ConfigureAwait(false);
                break;
            case WatchRequest.RequestUnionOneofCase.ProgressRequest:
                _progressRequested = true; // answered once every watcher has caught up (see the send loop)
                break;
            default:
                break; // etcd ignores an empty request
        }
    }

    private async Task CreateAsync(WatchCreateRequest request, CancellationToken cancellationToken)
    {
        var current = _hub.CurrentRevision;
        // A negative start_revision is, as in etcd 3.4, a revision in the past: below a compaction the watcher is
        // cancelled with the compact revision; with no compaction yet it replays the whole history.
        // Any non-zero watch_id is taken as given, negative ones included, as etcd 3.4 does.
        var refusal = Watcher.IsEmptyRange(request) ? EmptyRangeReason
            : ReadRefusal(request) is { } denied ? denied
            : request.WatchId != 0 && _watchers.ContainsKey(request.WatchId) ? DuplicateIdReason
            : _watchers.Count >= _hub.Limits.WatchersPerStreamMax ? $"raftkv: too many watchers on this stream (at most {_hub.Limits.WatchersPerStreamMax})"
            : null;
        if (refusal is not null)
        {
            await SendAsync(new WatchResponse { Header = Header(current), WatchId = -1, Created = true, Canceled = true, CancelReason = refusal },
                cancellationToken).ConfigureAwait(false);
            return;
        }
        var id = request.WatchId != 0 ? request.WatchId : NextAutoId();
        var watcher = new Watcher(id, request, request.StartRevision == 0 ? current + 1 : request.StartRevision);
        _watchers.Add(id, watcher);
        _hub.WatcherAdded();
        await SendAsync(new WatchResponse { Header = Header(current), WatchId = id, Created = true }, cancellationToken).ConfigureAwait(false);
    }

    // Auth: a watch needs read on its whole range, "from key" (range_end "\0") and prefix watches included; the
    // identity is the stream's, taken when it opened. etcd answers a refused create cancelled with the gRPC error's
    // text as Go prints it ("rpc error: code = PermissionDenied desc = ..."), which etcdctl shows as is.
    private string? ReadRefusal(WatchCreateRequest request)
    {
        var auth = _node.Auth.State;
        if (!auth.Enabled || _identity is null) return null;
        return Kv.Auth.AuthChecker.Read(auth, _identity.User, request.Key, request.RangeEnd) is { } error ? $"rpc error: code = {error.Code} desc = {error.Message}" : null;
    }

    private long NextAutoId()
    {
        while (_watchers.ContainsKey(_nextAutoId)) _nextAutoId++;
        return _nextAutoId++;
    }

    private async Task CancelAsync(long id, CancellationToken cancellationToken)
    {
        // As etcd: cancelling an unknown id answers nothing.
        if (!Remove(id)) return;
        await SendAsync(new WatchResponse { Header = Header(_hub.CurrentRevision), WatchId = id, Canceled = true }, cancellationToken).ConfigureAwait(false);
    }

    private bool Remove(long id)
    {
        if (!_watchers.Remove(id)) return false;
        _hub.WatchersRemoved(1);
        return true;
    }
}
