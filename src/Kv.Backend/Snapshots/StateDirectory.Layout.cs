using System.Globalization;
using System.Text;
using RaftKv.Raft.Storage.Files;

namespace RaftKv.Kv.Backend.Snapshots;

/// <summary>The root's names, the pointer file, first use and the removal of leftovers.</summary>
public sealed partial class StateDirectory
{
    private const string BackendPrefix = "backend-";
    private const string StagingPrefix = "incoming-";
    private const string PointerTempName = PointerFileName + ".tmp";
    private const string FirstBackendName = BackendPrefix + "0";

    /// <summary>A pointer is one short line: anything longer is not one.</summary>
    private const int PointerBytesMax = 64;

    /// <summary>Siblings in which <see cref="BackendCreator"/> and <see cref="BackendStream.Restore"/> build a directory before renaming it.</summary>
    private static readonly string[] BuildingSuffixes = [".creating", ".restoring"];

    private enum Kind
    {
        Backend,
        Staging,
    }

    /// <summary>Parses <c>backend-&lt;n&gt;</c> or <c>incoming-&lt;n&gt;</c>, n in canonical decimal (no sign, no leading zero).</summary>
    private static bool TryParse(string name, out Kind kind, out ulong number)
    {
        (kind, var digits) = name.StartsWith(BackendPrefix, StringComparison.Ordinal) ? (Kind.Backend, name[BackendPrefix.Length..])
            : name.StartsWith(StagingPrefix, StringComparison.Ordinal) ? (Kind.Staging, name[StagingPrefix.Length..])
            : (Kind.Backend, "");
        return ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out number)
            && digits == number.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>A backend or staging name, or one of those with a building suffix: the entries this class may delete.</summary>
    private static bool TryParseOwn(string name, out ulong number)
    {
        foreach (var suffix in BuildingSuffixes)
        {
            if (name.EndsWith(suffix, StringComparison.Ordinal))
            {
                name = name[..^suffix.Length];
                break;
            }
        }
        return TryParse(name, out _, out number);
    }

    /// <summary>Reads and checks the pointer; returns the live backend's name.</summary>
    private static string ReadPointer(string pointer)
    {
        if (Directory.Exists(pointer))
        {
            throw new StateDirectoryCorruptException(pointer, "it is a directory, not a pointer file.");
        }
        var length = new FileInfo(pointer).Length;
        if (length > PointerBytesMax)
        {
            throw new StateDirectoryCorruptException(pointer, $"it holds {length} bytes; a pointer is one line of at most {PointerBytesMax}.");
        }
        var text = Encoding.ASCII.GetString(File.ReadAllBytes(pointer));
        var name = text.EndsWith('\n') ? text[..^1] : text;
        if (!text.EndsWith('\n') || !TryParse(name, out var kind, out _) || kind != Kind.Backend)
        {
            throw new StateDirectoryCorruptException(pointer, $"'{Escape(text)}' is not a backend name and a newline.");
        }
        var live = Path.Combine(Path.GetDirectoryName(pointer)!, name);
        if (!Directory.Exists(live))
        {
            throw new StateDirectoryCorruptException(pointer, $"it names '{name}', which does not exist.");
        }
        if (!File.Exists(Path.Combine(live, "CURRENT")))
        {
            throw new StateDirectoryCorruptException(pointer, $"it names '{name}', which holds no RocksDB database.");
        }
        return name;
    }

    /// <summary>
    /// First use: creates <c>backend-0</c> (empty, durable) and a pointer naming it. A <c>backend-0</c> at applied
    /// index 0 is taken over (a crash came before the pointer was written); any other backend without a pointer means
    /// the pointer was lost, and starting empty would hide that.
    /// </summary>
    private static string Initialize(string rootPath, KvBackendOptions options)
    {
        var pointer = Path.Combine(rootPath, PointerFileName);
        foreach (var entry in Directory.EnumerateDirectories(rootPath))
        {
            var name = Path.GetFileName(entry);
            if (TryParse(name, out var kind, out var number) && kind == Kind.Backend && number != 0)
            {
                throw new StateDirectoryCorruptException(pointer, $"it is missing, but '{name}' exists: refusing to start empty beside it.");
            }
        }
        var first = Path.Combine(rootPath, FirstBackendName);
        if (!Directory.Exists(first) || !Directory.EnumerateFileSystemEntries(first).Any())
        {
            BackendCreator.Create(first, options);
        }
        else
        {
            ulong index;
            try
            {
                index = ReadAppliedIndex(first);
            }
            catch (BackendFormatException e)
            {
                throw new StateDirectoryCorruptException(pointer, $"it is missing, and '{FirstBackendName}' is not a backend.", e);
            }
            if (index != 0)
            {
                throw new StateDirectoryCorruptException(pointer, $"it is missing, but '{FirstBackendName}' holds applied index {index}.");
            }
        }
        DurableDirectory.WriteFileAtomically(pointer, Encoding.ASCII.GetBytes(FirstBackendName + "\n"));
        return FirstBackendName;
    }

    /// <summary>
    /// Deletes every entry this class owns except <paramref name="liveName"/>, and the pointer's temporary file.
    /// Returns the highest number seen (the live one's included) and how many entries went.
    /// </summary>
    private static (ulong NumberMax, int Deleted) DeleteAllBut(string rootPath, string liveName)
    {
        _ = TryParse(liveName, out _, out var numberMax);
        var deleted = 0;
        foreach (var entry in Directory.GetFileSystemEntries(rootPath)) // A snapshot of the listing: entries go meanwhile.
        {
            var name = Path.GetFileName(entry);
            if (name == liveName || (name != PointerTempName && !TryParseOwn(name, out _)))
            {
                continue;
            }
            if (TryParseOwn(name, out var number))
            {
                numberMax = Math.Max(numberMax, number);
            }
            if (Directory.Exists(entry))
            {
                Directory.Delete(entry, recursive: true);
            }
            else
            {
                File.Delete(entry);
            }
            deleted++;
        }
        if (deleted > 0)
        {
            DurableDirectory.Sync(rootPath); // Not needed for safety (a leftover is deleted again); keeps the root tidy after power loss.
        }
        return (numberMax, deleted);
    }

    private static string Escape(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            builder.Append(c is >= ' ' and < (char)0x7F ? c : '?');
        }
        return builder.ToString();
    }
}
