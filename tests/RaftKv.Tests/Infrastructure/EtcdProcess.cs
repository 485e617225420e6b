using System.Collections.Concurrent;
using System.Diagnostics;

namespace RaftKv.Tests.Infrastructure;

/// <summary>A real single-member etcd (Debian etcd-server) on free loopback ports, for differential tests.</summary>
public sealed class EtcdProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _dataDir;
    private readonly ConcurrentQueue<string> _output = new();

    private EtcdProcess(Process process, string dataDir, int clientPort)
    {
        _process = process;
        _dataDir = dataDir;
        ClientUrl = $"http://127.0.0.1:{clientPort}";
    }

    public string ClientUrl { get; }

    public string OutputTail => string.Join('\n', _output.TakeLast(30));

    /// <summary>Starts etcd; <paramref name="extraArgs"/> are added to its flags (e.g. --auth-token).</summary>
    public static EtcdProcess Start(params string[] extraArgs)
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "raftkv-tests", "etcd-" + Guid.NewGuid().ToString("n"));
        var client = FreePorts.Next();
        var peer = FreePorts.Next();
        var start = new ProcessStartInfo(ExternalTools.Require("etcd", "etcd-server"))
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[]
        {
            "--name", "e", "--data-dir", dataDir, "--listen-client-urls", $"http://127.0.0.1:{client}", "--advertise-client-urls", $"http://127.0.0.1:{client}",
            "--listen-peer-urls", $"http://127.0.0.1:{peer}", "--initial-advertise-peer-urls", $"http://127.0.0.1:{peer}",
            "--initial-cluster", $"e=http://127.0.0.1:{peer}", "--log-level", "warn",
        }.Concat(extraArgs)) start.ArgumentList.Add(a);
        var process = Process.Start(start)!;
        var etcd = new EtcdProcess(process, dataDir, client);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) etcd._output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) etcd._output.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return etcd;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
