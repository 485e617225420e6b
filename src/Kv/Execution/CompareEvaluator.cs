using Google.Protobuf;
using RaftKv.Etcd.Api;
using RaftKv.Kv.Mvcc;
using CompareResult = RaftKv.Etcd.Api.Compare.Types.CompareResult;
using CompareTarget = RaftKv.Etcd.Api.Compare.Types.CompareTarget;

namespace RaftKv.Kv.Execution;

/// <summary>
/// Txn guards with etcd's semantics: every key visible in [key, range_end) must satisfy the compare; when no key
/// is there, a VALUE compare fails and the others compare against zero (version 0, create 0, mod 0, lease 0).
/// </summary>
internal static class CompareEvaluator
{
    public static bool All(IMvccView state, IEnumerable<Compare> compares, long revision)
    {
        foreach (var compare in compares)
        {
            if (!Holds(state, compare, revision))
            {
                return false;
            }
        }

        return true;
    }

    public static bool Holds(IMvccView state, Compare compare, long revision)
    {
        var range = KeyRange.FromRequest(compare.Key, compare.RangeEnd);
        var any = false;
        foreach (var visible in state.Live(range, revision))
        {
            any = true;
            if (!Satisfies(compare, visible.Entry))
            {
                return false;
            }
        }

        if (any)
        {
            return true;
        }

        // A missing key has no value to compare (an empty value would be indistinguishable from it).
        return compare.Target != CompareTarget.Value && Satisfies(compare, new RevisionEntry(0, 0, 0, 0, 0, ByteString.Empty));
    }

    private static bool Satisfies(Compare compare, in RevisionEntry entry)
    {
        // The generated getters return 0 / empty when the union holds another case, matching etcd's defaults.
        var result = compare.Target switch
        {
            CompareTarget.Value => Math.Sign((entry.Value ?? ByteString.Empty).Span.SequenceCompareTo(compare.Value.Span)),
            CompareTarget.Version => entry.Version.CompareTo(compare.Version),
            CompareTarget.Create => entry.CreateRevision.CompareTo(compare.CreateRevision),
            CompareTarget.Mod => entry.Main.CompareTo(compare.ModRevision),
            CompareTarget.Lease => entry.Lease.CompareTo(compare.Lease),
            _ => throw new InvalidOperationException($"compare target {compare.Target} passed validation"),
        };
        return compare.Result switch
        {
            CompareResult.Equal => result == 0,
            CompareResult.NotEqual => result != 0,
            CompareResult.Greater => result > 0,
            CompareResult.Less => result < 0,
            _ => throw new InvalidOperationException($"compare result {compare.Result} passed validation"),
        };
    }
}
