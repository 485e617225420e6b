namespace RaftKv.Http.Observe;

/// <summary>One election or role change as the dashboard's timeline shows it.</summary>
/// <param name="Seq">Increases by one per event of this member (to merge timelines without duplicates).</param>
/// <param name="Time">Unix time in milliseconds when the member saw it.</param>
/// <param name="Member">Who saw it.</param>
/// <param name="Kind">The core's event kind, lower case (becameleader, steppeddown, ...).</param>
/// <param name="Term">The member's term then.</param>
/// <param name="Text">What happened and why, as the core says it ("A became leader at term 4 (votes: A, B)").</param>
public sealed record TimelineEvent(long Seq, long Time, string Member, string Kind, ulong Term, string Text);

/// <summary>One applied log entry in the dashboard's log tail.</summary>
/// <param name="Index">Raft index.</param>
/// <param name="Term">Raft term.</param>
/// <param name="Type">"no-op" (a new leader's empty entry) or the command kind (put, delete, txn, ...).</param>
/// <param name="Payload">A short description of the command, cut to a bounded length.</param>
public sealed record LogTailEntry(ulong Index, ulong Term, string Type, string Payload);
