using System.Globalization;
using System.Text;
using RaftKv.Raft.Storage.Files;

namespace RaftKv.Kv.Backend.Snapshots;

/// <summary>
/// A member's state root: backend directories <c>backend-&lt;n&gt;</c>, the one-line pointer file <c>CURRENT</c>
/// naming the live one, and staging directories <c>incoming-&lt;n&gt;</c> where incoming snapshots are built
/// (<see cref="BackendStream.Restore"/>). <see cref="Promote"/> switches the live backend by renaming a new pointer
/// over <c>CURRENT</c>, so a crash at any point leaves the old backend or the new one, never a mix.
/// </summary>
/// <remarks>
/// Entries of the root that do not follow these names are never touched. Threads: not thread-safe; one owner (the
/// member's apply loop) uses an instance, and one process a root: the member's directory lock must cover it.
/// The switch, for the caller: <see cref="NewStagingPath"/>, <see cref="BackendStream.Restore"/> into it,
/// <see cref="Promote"/> (the old <see cref="KvBackend"/> may stay open meanwhile), dispose the old backend, open the
/// new <see cref="LivePath"/>, then <see cref="DeleteRetired"/> (or leave it to the next <see cref="Open"/>).
/// </remarks>
public sealed partial class StateDirectory
{
    /// <summary>The pointer file's name in the root.</summary>
    public const string PointerFileName = "CURRENT";

    private ulong nextNumber; // Invariant: above the number of every backend and staging directory of the root.

    private StateDirectory(string rootPath, string livePath, ulong nextNumber)
    {
        RootPath = rootPath;
        LivePath = livePath;
        this.nextNumber = nextNumber;
    }

    /// <summary>The full path of the root.</summary>
    public string RootPath { get; }

    /// <summary>The full path of the live backend directory (the one <c>CURRENT</c> names); open it with <see cref="KvBackend.Open"/>.</summary>
    public string LivePath { get; private set; }

    /// <summary>Tests stop here to crash the process at each step of <see cref="Promote"/>; null in production.</summary>
    internal static Action<PromoteStep>? StepReached;

    /// <summary>
    /// Opens the root, creating it and a first empty backend (<c>backend-0</c>) durably on first use. Reads
    /// <c>CURRENT</c> first, then deletes what an interrupted switch or restore left: staging directories, backend
    /// directories other than the live one, and the pointer's temporary file.
    /// </summary>
    /// <exception cref="StateDirectoryCorruptException"><c>CURRENT</c> is malformed or names a missing backend, or backends exist without it.</exception>
    public static StateDirectory Open(string root, KvBackendOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var rootPath = Path.GetFullPath(root).TrimEnd(Path.DirectorySeparatorChar);
        DurableDirectory.Create(rootPath);
        var pointer = Path.Combine(rootPath, PointerFileName);
        var liveName = File.Exists(pointer) || Directory.Exists(pointer)
            ? ReadPointer(pointer)
            : Initialize(rootPath, options);
        var livePath = Path.Combine(rootPath, liveName);
        var (numberMax, _) = DeleteAllBut(rootPath, liveName);
        return new StateDirectory(rootPath, livePath, numberMax + 1);
    }

    /// <summary>A fresh, not yet existing path in the root to restore an incoming backend into.</summary>
    public string NewStagingPath()
    {
        var path = Path.Combine(RootPath, StagingPrefix + (nextNumber++).ToString(CultureInfo.InvariantCulture));
        if (Path.Exists(path))
        {
            throw new InvalidOperationException($"Staging path '{path}' exists: another process uses the state root.");
        }
        return path;
    }

    /// <summary>
    /// Makes the complete, durable backend at <paramref name="stagingPath"/> (from <see cref="NewStagingPath"/>) the
    /// live one: renames it to <c>backend-&lt;n&gt;</c>, fsyncs the root, writes and fsyncs <c>CURRENT.tmp</c>, renames it
    /// over <c>CURRENT</c> and fsyncs the root. The old backend directory is left in place (it may still be open) for
    /// <see cref="DeleteRetired"/>. Returns the new <see cref="LivePath"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The path is not a staging path of this root.</exception>
    /// <exception cref="BackendFormatException">The staging directory is not a complete backend.</exception>
    public string Promote(string stagingPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(stagingPath);
        var staging = Path.GetFullPath(stagingPath).TrimEnd(Path.DirectorySeparatorChar);
        var name = Path.GetFileName(staging);
        if (Path.GetDirectoryName(staging) != RootPath || !TryParse(name, out var kind, out var number) || kind != Kind.Staging)
        {
            throw new ArgumentException($"'{staging}' is not a staging directory of '{RootPath}'.", nameof(stagingPath));
        }
        _ = ReadAppliedIndex(staging); // Throws unless it opens with our metadata.
        DurableDirectory.Sync(staging);
        StepReached?.Invoke(PromoteStep.StagingVerified);
        FailPoints.Hit(FailPoint.SnapshotBeforeSwitch);

        var liveName = BackendPrefix + number.ToString(CultureInfo.InvariantCulture);
        var live = Path.Combine(RootPath, liveName);
        Directory.Move(staging, live); // Throws if the name is taken, which the numbering rules out.
        DurableDirectory.Sync(RootPath);
        StepReached?.Invoke(PromoteStep.StagingRenamed);

        // DurableDirectory.WriteFileAtomically does these steps too; written out here so a test can crash between them.
        var pointer = Path.Combine(RootPath, PointerFileName);
        var temp = Path.Combine(RootPath, PointerTempName);
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(Encoding.ASCII.GetBytes(liveName + "\n"));
            stream.Flush(flushToDisk: true);
        }
        StepReached?.Invoke(PromoteStep.PointerTempWritten);
        File.Move(temp, pointer, overwrite: true);
        DurableDirectory.Sync(RootPath);
        StepReached?.Invoke(PromoteStep.PointerRenamed);
        FailPoints.Hit(FailPoint.SnapshotAfterSwitch);
        LivePath = live;
        return live;
    }

    /// <summary>
    /// Deletes every backend and staging directory of the root except the live one, and leftovers of interrupted
    /// creations. Call it when no <see cref="KvBackend"/> is open on a retired directory and no restore is running.
    /// </summary>
    /// <returns>How many entries were deleted.</returns>
    public int DeleteRetired() => DeleteAllBut(RootPath, Path.GetFileName(LivePath)).Deleted;

    /// <summary>The applied index of the closed backend at <paramref name="path"/>; <see cref="BackendFormatException"/> unless it is a complete one.</summary>
    private static ulong ReadAppliedIndex(string path)
    {
        if (!File.Exists(Path.Combine(path, "CURRENT")))
        {
            throw new BackendFormatException(path, "no RocksDB database (no CURRENT file): the backend is incomplete.");
        }
        try
        {
            return KvBackend.ReadCheckpointIndex(path);
        }
        catch (RocksDbSharp.RocksDbException e)
        {
            throw new BackendFormatException(path, $"RocksDB cannot open it: {e.Message}", e);
        }
    }
}
