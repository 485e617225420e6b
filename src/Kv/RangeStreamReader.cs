using Google.Protobuf;
using RaftKv.Etcd.Api;
using RaftKv.Kv.Engine;
using RaftKv.Kv.Execution;
using RaftKv.Kv.Mvcc;
using SortOrder = RaftKv.Etcd.Api.RangeRequest.Types.SortOrder;
using SortTarget = RaftKv.Etcd.Api.RangeRequest.Types.SortTarget;

namespace RaftKv.Kv;

/// <summary>
/// etcd 3.7's RangeStream on the store: one range read answered in chunks of disjoint key-value pairs, in key order,
/// all at the revision pinned when the reader was opened. Each <see cref="Next"/> is one short read of the store
/// that resumes at the first key the previous one did not take, so nothing but the current chunk is ever held.
/// Merged in order, the chunks give what <see cref="KvStore.Range"/> gives at the pinned revision: the same pairs,
/// and on the last chunk (only) the header, <c>count</c> and <c>more</c>.
/// </summary>
/// <remarks>
/// A compaction past the pinned revision between two chunks fails the next one with <see cref="KvError.Compacted"/>
/// (as etcd does): every chunk checks the compact revision in the same view it reads, and a compaction at or below
/// the pinned revision keeps every version visible there, so a chunk that is read is never a mixed view.
/// Not thread-safe: one caller reads one stream.
/// </remarks>
public sealed class RangeStreamReader
{
    private readonly IKvEngine engine;
    private readonly RangeRequest request;
    private readonly bool filtered;
    private readonly long limit;
    private ByteString start;
    private long visited;
    private long returned;
    private bool counting;
    private bool more;

    internal RangeStreamReader(IKvEngine engine, RangeRequest request, long revision)
    {
        this.engine = engine;
        this.request = request;
        Revision = revision;
        filtered = RangeExecutor.HasRevisionFilters(request);
        limit = request.Limit > 0 ? request.Limit : long.MaxValue;
        start = request.Key;
        counting = request.CountOnly;
    }

    /// <summary>The revision every chunk is read at.</summary>
    public long Revision { get; }

    /// <summary>Whether the last chunk was returned.</summary>
    public bool IsDone { get; private set; }

    /// <summary>
    /// Checks a RangeStream request and pins its revision against <paramref name="view"/>: etcd's Range checks, and
    /// the order must be by key, ascending (<see cref="KvError.StreamSortUnsupported"/> otherwise).
    /// </summary>
    internal static KvError? Pin(IMvccView view, RangeRequest request, out long revision)
    {
        revision = 0;
        if (KvRequestValidator.ValidateRange(request) is { } invalid)
        {
            return invalid;
        }

        // A target other than the key sorts ascending even without an order (as Range does), so it is refused too.
        var order = request.SortOrder == SortOrder.None && request.SortTarget != SortTarget.Key ? SortOrder.Ascend : request.SortOrder;
        if (!RangeExecutor.IsDefaultOrdering(request.SortTarget, order))
        {
            return KvError.StreamSortUnsupported;
        }

        if (request.Revision > view.CurrentRevision)
        {
            return KvError.FutureRevision;
        }

        revision = request.Revision <= 0 ? view.CurrentRevision : request.Revision;
        return revision < view.CompactRevision ? KvError.Compacted : null;
    }

    /// <summary>
    /// Reads the next chunk: at most <see cref="RangeChunkLimits.KeysMax"/> pairs and about
    /// <see cref="RangeChunkLimits.BytesMax"/> bytes, after visiting at most <see cref="RangeChunkLimits.VisitsMax"/>
    /// keys. A chunk may hold no pairs (everything it visited was filtered out or only counted) without being the
    /// last; the last one (<see cref="IsDone"/> true afterwards) carries the header's revision, <c>count</c> and <c>more</c>.
    /// </summary>
    /// <exception cref="KvException">Compacted, when the pinned revision was compacted since the reader was opened.</exception>
    /// <exception cref="InvalidOperationException">After the last chunk.</exception>
    public RangeResponse Next(RangeChunkLimits limits)
    {
        limits.Validate();
        if (IsDone)
        {
            throw new InvalidOperationException("the stream has ended");
        }

        var chunk = new RangeResponse();
        var error = engine.Read(view => Read(view, limits, chunk));
        if (error is not null)
        {
            throw new KvException(error);
        }

        return chunk;
    }

    private KvError? Read(IMvccView view, RangeChunkLimits limits, RangeResponse chunk)
    {
        if (Revision < view.CompactRevision)
        {
            return KvError.Compacted;
        }

        var range = KeyRange.FromRequest(start, request.RangeEnd);
        if (counting && !range.IsSingleKey && Revision == view.CurrentRevision)
        {
            // Only counting is left (count is taken before filters) at the newest revision: the count comes apart,
            // O(log n) in memory.
            visited += view.CountLive(range, Revision);
            Finish(view, chunk);
            return null;
        }

        long bytes = 0;
        var visits = 0;
        foreach (var visible in view.Live(range, Revision))
        {
            if (visits == limits.VisitsMax || (!counting && IsFull(chunk, bytes, visible, limits)))
            {
                start = visible.Key; // the next read begins with the key this one did not take
                return null;
            }

            visits++;
            visited++;
            if (Visit(visible, chunk))
            {
                bytes += Size(visible);
            }
        }

        Finish(view, chunk);
        return null;
    }

    /// <summary>Takes one visible key: counts it, and returns it unless filtered out or past the limit.</summary>
    private bool Visit(in KeyVersion visible, RangeResponse chunk)
    {
        if (counting || (filtered && !RangeExecutor.PassesFilters(request, visible.Entry)))
        {
            return false;
        }

        if (returned == limit)
        {
            more = true; // the limit cut the result; from here on keys are only counted
            counting = true;
            return false;
        }

        chunk.Kvs.Add(visible.ToKeyValue(request.KeysOnly));
        returned++;
        return true;
    }

    private bool IsFull(RangeResponse chunk, long bytes, in KeyVersion next, RangeChunkLimits limits) =>
        chunk.Kvs.Count > 0 && returned < limit && (chunk.Kvs.Count >= limits.KeysMax || bytes + Size(next) > limits.BytesMax);

    private long Size(in KeyVersion visible) =>
        visible.Key.Length + (request.KeysOnly || visible.Entry.Value is null ? 0 : visible.Entry.Value.Length) + RangeChunkLimits.PairOverheadBytes;

    private void Finish(IMvccView view, RangeResponse chunk)
    {
        chunk.Header = new ResponseHeader { Revision = view.CurrentRevision };
        chunk.Count = visited;
        chunk.More = more;
        IsDone = true;
    }
}
