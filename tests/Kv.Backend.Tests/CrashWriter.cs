using System.Text;

namespace RaftKv.Kv.Backend.Tests;

/// <summary>
/// The child process of the crash test. Batch N puts "k&lt;N&gt;" = "v&lt;N&gt;", sets "counter" to N, deletes
/// "d&lt;N-1&gt;" and puts "d&lt;N&gt;", all committed with applied index N. After each commit whose index is a
/// multiple of <see cref="AckEvery"/> it prints "committed N": every index printed was committed before.
/// </summary>
public static class CrashWriter
{
    public const string Command = "crash-writer";
    public const int AckEvery = 16;

    /// <summary>A bound on the loop: the parent kills the child long before it gets here.</summary>
    public const int BatchesMax = 2_000_000;

    public static int Run(string[] args)
    {
        if (args.Length != 2 || args[0] != Command)
        {
            Console.Error.WriteLine($"usage: {Command} DIRECTORY");
            return 2;
        }
        using var backend = KvBackend.Open(args[1], KvBackendOptions.Default with { BlockCacheSizeBytes = 8L << 20, WriteBufferSizeBytes = 4L << 20 });
        var start = backend.AppliedIndex + 1;
        Console.Out.WriteLine($"ready {backend.AppliedIndex}");
        Console.Out.Flush();
        using var batch = new BackendBatch();
        for (var n = start; n < start + BatchesMax; n++)
        {
            Fill(batch, n);
            backend.Commit(batch, n);
            if (n % AckEvery == 0)
            {
                Console.Out.WriteLine($"committed {n}");
                Console.Out.Flush();
            }
        }
        return 0;
    }

    public static void Fill(BackendBatch batch, ulong n)
    {
        batch.Put(Encoding.ASCII.GetBytes($"k{n}"), Encoding.ASCII.GetBytes($"v{n}"));
        batch.Put("counter"u8, Encoding.ASCII.GetBytes(n.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        if (n > 1)
        {
            batch.Delete(Encoding.ASCII.GetBytes($"d{n - 1}"));
        }
        batch.Put(Encoding.ASCII.GetBytes($"d{n}"), "x"u8);
    }
}
