using System.CommandLine;
using RaftKv.Raft.Storage;
using RaftKv.Server;

namespace RaftKv.Cli.Wal;

/// <summary>
/// <c>raftkv wal dump --data-dir DIR [--json]</c>: prints a stopped member's log, read offline by the storage's own
/// recovery code (<see cref="StoredLog"/>): the snapshot the log starts after, the hard state, then one line per
/// entry with its index, term, type and decoded command, entries after the commit index marked uncommitted. The
/// robustness suite reads it (as etcd's reads its members' WALs) to learn which writes with lost answers were
/// committed. Exit codes: 0 dumped; 1 the directory is in use, damaged or unreadable (the message names the file
/// and byte offset, as a start would); 2 bad arguments or not a data directory.
/// </summary>
internal static class WalCommand
{
    /// <summary>Keys and values are cut to this many bytes by default.</summary>
    public const int DefaultMaxValueBytes = 256;

    /// <summary>The <c>wal</c> command with its <c>dump</c> subcommand.</summary>
    public static Command Create()
    {
        var wal = new Command("wal", "Inspect a stopped member's write-ahead log");
        wal.Subcommands.Add(DumpCommand());
        return wal;
    }

    private static Command DumpCommand()
    {
        var dataDir = new Option<string>("--data-dir") { Description = "The member's data directory (as given to 'raftkv serve'; its log is in DIR/member)", Required = true };
        var json = new Option<bool>("--json") { Description = "JSON lines, one object per record, for programs" };
        var maxBytes = new Option<int>("--max-value-bytes")
        {
            Description = "Show at most this many bytes of each key and value (longer ones are marked truncated)",
            DefaultValueFactory = _ => DefaultMaxValueBytes,
        };
        var command = new Command("dump", "Print the snapshot point, hard state and every log entry (decoded) of a stopped member") { dataDir, json, maxBytes };
        command.SetAction(parse => Run(parse.GetValue(dataDir)!, parse.GetValue(json), parse.GetValue(maxBytes)));
        return command;
    }

    private static int Run(string dataDir, bool json, int maxValueBytes)
    {
        if (maxValueBytes is < 1 or > 1 << 20)
            return Fail(2, $"--max-value-bytes must be in [1, {1 << 20}], got {maxValueBytes}");
        var storageDir = StorageDirectory(dataDir);
        if (storageDir is null)
            return Fail(2, $"{Path.GetFullPath(dataDir)} is not a member's data directory: neither it nor its member/ subdirectory holds a '{DurableStorage.WalDirectoryName}' directory");
        StoredLog log;
        try
        {
            log = StoredLog.Read(storageDir, ServerLimits.Storage);
        }
        catch (StorageLockedException e)
        {
            return Fail(1, $"{e.Message}; stop the member first (the dump reads its files offline)");
        }
        catch (StorageException e)
        {
            return Fail(1, e.Message);
        }
        using var stdout = Console.OpenStandardOutput();
        using var buffered = new BufferedStream(stdout, 64 * 1024);
        using var jsonSink = json ? new JsonDumpSink(buffered) : null;
        using var text = json ? null : new StreamWriter(buffered, new System.Text.UTF8Encoding(false), 64 * 1024, leaveOpen: true);
        IDumpSink sink = jsonSink is not null ? jsonSink : new TextDumpSink(text!);
        WriteHeader(sink, log);
        var describer = new EntryDescriber(sink, maxValueBytes);
        foreach (var entry in log.Entries) describer.Describe(entry, entry.Index <= log.HardState.Commit);
        sink.Flush();
        if (log.Recovery.TornTail is { } torn)
            Console.Error.WriteLine($"raftkv wal dump: warning: a torn last write in '{torn.FilePath}' at byte offset {torn.OffsetBytes} ({torn.Reason}) was not dumped; a start of the member would cut it off");
        return 0;
    }

    // The storage lives in DIR/member for a serve --data-dir; a storage directory itself is accepted too.
    private static string? StorageDirectory(string dataDir)
    {
        var member = DataDirectory.MemberPath(dataDir);
        if (Directory.Exists(Path.Combine(member, DurableStorage.WalDirectoryName))) return member;
        return Directory.Exists(Path.Combine(dataDir, DurableStorage.WalDirectoryName)) ? dataDir : null;
    }

    private static void WriteHeader(IDumpSink sink, StoredLog log)
    {
        sink.BeginRecord();
        sink.String("kind", "log");
        sink.String("dir", log.Directory);
        sink.Number("snapshotIndex", log.Snapshot?.Index ?? 0);
        sink.Number("snapshotTerm", log.Snapshot?.Term ?? 0);
        sink.Number("term", log.HardState.Term);
        sink.String("vote", log.HardState.Vote.ToString("x16", System.Globalization.CultureInfo.InvariantCulture));
        sink.Number("commit", log.HardState.Commit);
        sink.Number("firstIndex", (log.Snapshot?.Index ?? 0) + 1);
        sink.Number("lastIndex", log.Entries.Count > 0 ? log.Entries[^1].Index : log.Snapshot?.Index ?? 0);
        sink.Number("entries", (long)log.Entries.Count);
        sink.EndRecord();
        if (log.Recovery.TornTail is not { } torn) return;
        sink.BeginRecord();
        sink.String("kind", "torn-tail");
        sink.String("file", torn.FilePath);
        sink.Number("offset", torn.OffsetBytes);
        sink.Number("discardedBytes", torn.DiscardedBytes);
        sink.String("reason", torn.Reason);
        sink.EndRecord();
    }

    private static int Fail(int code, string message)
    {
        Console.Error.WriteLine($"raftkv wal dump: {message}");
        return code;
    }
}
