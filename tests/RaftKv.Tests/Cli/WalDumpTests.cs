using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using RaftKv.Robustness.Logs;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests.Cli;

/// <summary>
/// A one-member cluster that wrote a few keys and was stopped (SIGTERM, a graceful stop): the data directory that
/// <see cref="WalDumpTests"/> dumps, and copies of it that they damage. Also records what <c>wal dump</c> said while
/// the member still ran.
/// </summary>
public sealed class StoppedMemberFixture : IAsyncLifetime
{
    /// <summary>The plain puts the member committed, by key.</summary>
    public static readonly IReadOnlyDictionary<string, string> Puts = new Dictionary<string, string>
    {
        ["wd/a"] = "one", ["wd/b"] = "two words", ["wd/c"] = "three", ["wd/corrupt-me"] = "wal-dump-corrupt-me",
    };

    /// <summary>Puts by each of 20 writers to a key of its own, after the others.</summary>
    public const int BulkPutsPerWorker = 120;

    /// <summary>A value that is not text: the dump shows it in base64.</summary>
    public static readonly byte[] BinaryValue = [0x00, 0x01, 0xFF, 0xFE];

    private ProcessCluster? _cluster;

    public string DataDir => _cluster!.Members[0].DataDir;

    public (int ExitCode, string Output) WhileRunning { get; private set; }

    public async Task InitializeAsync()
    {
        _cluster = await ProcessCluster.StartAsync(1);
        var member = _cluster.Members[0];
        WhileRunning = await RaftKvBinary.RunAsync(["wal", "dump", "--data-dir", member.DataDir], TimeSpan.FromSeconds(60));
        using (var client = new EtcdClient(member.ClientUrl))
        {
            foreach (var (key, value) in Puts) await client.PutAsync(key, value);
            await client.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8("wd/binary"), Value = ByteString.CopyFrom(BinaryValue) });
            await client.DeleteAsync("wd/c");
            await client.TransactionAsync(new TxnRequest
            {
                Compare = { new Compare { Key = ByteString.CopyFromUtf8("wd/a"), Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = 0 } },
                Success = { new RequestOp { RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8("wd/a"), Value = ByteString.CopyFromUtf8("txn-value") } } },
            });
            await client.PutAsync("wd/last", new string('v', 1000)); // longer than the dump's bound
            // More lines than RaftKvBinary.RunAsync keeps: WalDumps must stream them.
            await Task.WhenAll(Enumerable.Range(0, 20).Select(async worker =>
            {
                for (var i = 0; i < BulkPutsPerWorker; i++) await client.PutAsync($"wd/bulk/{worker}", $"b{worker}-{i}");
            }));
        }
        Signals.Send(member.Pid!.Value, Signals.Sigterm);
        Assert.NotNull(await member.WaitForExitAsync(TimeSpan.FromSeconds(60)));
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null) await _cluster.DisposeAsync();
    }
}

/// <summary>
/// <c>raftkv wal dump</c> (issue 16): the robustness suite learns from a stopped member's log which writes with lost
/// answers were committed, as etcd's suite reads its WALs; so the dump must list exactly the committed commands, refuse
/// a running member's directory, and report damage as the storage does at start (file and byte offset).
/// </summary>
public sealed class WalDumpTests(StoppedMemberFixture fixture) : IClassFixture<StoppedMemberFixture>
{
    // stdout and stderr apart; the whole of stdout (the bulk puts make more lines than RaftKvBinary.RunAsync keeps).
    private static async Task<(int ExitCode, string Stdout, string Stderr)> Dump(string dataDir, bool json = true) =>
        await WalDumps.RunAsync(json ? ["--data-dir", dataDir, "--json"] : ["--data-dir", dataDir]);

    [Fact]
    public void ARunningMembersDirectory_IsRefused()
    {
        Assert.Equal(1, fixture.WhileRunning.ExitCode);
        Assert.Contains("in use", fixture.WhileRunning.Output, StringComparison.Ordinal);
        Assert.Contains("stop the member first", fixture.WhileRunning.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheJsonDump_HoldsExactlyThePutsWritten_WithKeysAndValues()
    {
        var log = await WalDumps.ReadAsync(fixture.DataDir, "A");
        var (_, output, _) = await Dump(fixture.DataDir);

        Assert.True(log.IsCompleteFromStart);
        Assert.Equal(log.LastIndex, log.CommitIndex); // a graceful stop: everything it appended was committed
        Assert.All(Enumerable.Range(0, 20), w => Assert.Equal(StoppedMemberFixture.BulkPutsPerWorker, log.CommittedPutValues[$"wd/bulk/{w}"].Count));
        var committed = log.CommittedPutValues.Where(kv => kv.Key != "wd/last" && !kv.Key.StartsWith("wd/bulk/", StringComparison.Ordinal)).SelectMany(kv => kv.Value.Select(v => (kv.Key, v))).Order().ToArray();
        Assert.Equal(StoppedMemberFixture.Puts.Select(kv => (kv.Key, kv.Value)).Order().ToArray(), committed);
        Assert.Equal(new LoggedPut(log.Find("wd/a", "txn-value")!.Index, "wd/a", "txn-value", Committed: true, InTxn: true), log.Find("wd/a", "txn-value"));
        Assert.True(log.MayHold("wd/last", new string('v', 1000))); // cut to the bound, kept as a prefix

        var lines = output.Split('\n');
        Assert.Contains(lines, l => l.Contains($"\"key\":\"wd/binary\",\"valueBase64\":\"{Convert.ToBase64String(StoppedMemberFixture.BinaryValue)}\"", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("\"command\":\"delete\",\"key\":\"wd/c\"", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("\"valueTruncated\":true,\"valueBytes\":1000", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("\"type\":\"conf-change\"", StringComparison.Ordinal) && l.Contains("\"op\":\"add-voter\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheTextDump_StartsWithTheLogsOriginAndHardState_ThenOneLinePerEntry()
    {
        var (code, output, errors) = await Dump(fixture.DataDir, json: false);
        Assert.True(code == 0, errors);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("log dir=", lines[0], StringComparison.Ordinal);
        Assert.Contains("snapshotIndex=0", lines[0], StringComparison.Ordinal);
        Assert.Contains(" commit=", lines[0], StringComparison.Ordinal);
        Assert.Contains(lines, l => l.EndsWith("normal put key=\"wd/b\" value=\"two words\"", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("normal txn compare=[{key=\"wd/a\" target=\"mod\" result=\"equal\" modRevision=0}]", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("uncommitted", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ACorruptRecord_IsNamedByFileAndOffset_AndFails()
    {
        using var copy = new CopiedDataDir(fixture.DataDir);
        var (segment, bytes) = copy.Segment();
        var at = IndexOf(bytes, "wal-dump-corrupt-me"u8);
        bytes[at] ^= 0x20;
        File.WriteAllBytes(segment, bytes);

        var (code, output, errors) = await Dump(copy.Path);
        Assert.True(code == 1, errors);
        Assert.Contains($"storage is corrupt in '{segment}' at byte offset", errors, StringComparison.Ordinal);
        Assert.Contains("checksum", errors, StringComparison.Ordinal);
        Assert.Equal("", output); // nothing half-dumped
    }

    [Fact]
    public async Task ATornLastWrite_IsReportedWithFileAndOffset_AndLeftOnDisk()
    {
        using var copy = new CopiedDataDir(fixture.DataDir);
        var (segment, bytes) = copy.Segment();
        var end = Array.FindLastIndex(bytes, b => b != 0) + 1;
        File.WriteAllBytes(segment, bytes[..(end - 3)]); // the file now ends inside its last record

        var (code, output, errors) = await Dump(copy.Path);
        Assert.True(code == 0, errors);
        Assert.Contains($"a torn last write in '{segment}' at byte offset", errors, StringComparison.Ordinal);
        Assert.Contains("\"kind\":\"torn-tail\"", output, StringComparison.Ordinal);
        Assert.Equal(end - 3, new FileInfo(segment).Length); // the dump changed nothing
        var log = CommittedLog.Parse(new StringReader(output), "A");
        Assert.True(log.HasTornTail);
        Assert.Equal("one", Assert.Single(log.CommittedPutValues["wd/a"]));
    }

    [Fact]
    public async Task ADirectoryWithoutALog_IsNotADataDirectory()
    {
        using var empty = new CopiedDataDir(null);
        var (code, _, errors) = await Dump(empty.Path);
        Assert.Equal(2, code);
        Assert.Contains("is not a member's data directory", errors, StringComparison.Ordinal);
    }

    private static int IndexOf(byte[] haystack, ReadOnlySpan<byte> needle)
    {
        var at = haystack.AsSpan().IndexOf(needle);
        Assert.True(at >= 0, "the value is not in the segment");
        return at;
    }

    /// <summary>A copy of a data directory (or an empty directory), deleted at the end.</summary>
    private sealed class CopiedDataDir : IDisposable
    {
        public CopiedDataDir(string? from)
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "raftkv-tests", "waldump-" + Guid.NewGuid().ToString("n"));
            Directory.CreateDirectory(Path);
            if (from is null) return;
            foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
            {
                var target = System.IO.Path.Combine(Path, System.IO.Path.GetRelativePath(from, file));
                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }
        }

        public string Path { get; }

        /// <summary>The only log segment, and its bytes.</summary>
        public (string Path, byte[] Bytes) Segment()
        {
            var segment = Assert.Single(Directory.GetFiles(System.IO.Path.Combine(Path, "member", "wal"), "*.wal"));
            return (segment, File.ReadAllBytes(segment));
        }

        public void Dispose()
        {
            try
            {
                Directory.Delete(Path, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
