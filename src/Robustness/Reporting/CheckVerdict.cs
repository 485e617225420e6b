using System.Globalization;
using RaftKv.Robustness.Checking;

namespace RaftKv.Robustness.Reporting;

/// <summary>One check's line in a report: which check, its verdict, and a short detail.</summary>
/// <param name="Check">What was checked, for example "revision rules (store-wide)".</param>
/// <param name="Verdict">Its outcome.</param>
/// <param name="Detail">How much was checked, or how many problems were found.</param>
internal sealed record CheckVerdict(string Check, Verdict Verdict, string Detail)
{
    /// <summary>The checks a <see cref="KvCheckReport"/> holds, in the order the reports show them.</summary>
    public static IReadOnlyList<CheckVerdict> Of(KvCheckReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return
        [
            new("linearizability (per key, etcd's model)", report.Linearizable,
                string.Create(CultureInfo.InvariantCulture, $"{report.Keys.Count} keys, {report.Keys.Sum(k => k.Steps)} search steps")),
            new("revision rules (store-wide)", report.RevisionProblems.Count == 0 ? Verdict.Ok : Verdict.Illegal,
                string.Create(CultureInfo.InvariantCulture, $"{report.RevisionProblems.Count} problems")),
            .. report.RunChecks.Select(c => new CheckVerdict(c.Check, c.Problems.Count == 0 ? Verdict.Ok : Verdict.Illegal,
                c.Problems.Count == 0 ? c.Detail : string.Create(CultureInfo.InvariantCulture, $"{c.Problems.Count} problems; {c.Detail}"))),
        ];
    }
}
