using System.Collections.Concurrent;
using System.Diagnostics;

namespace RaftKv.Tests.Infrastructure;

/// <summary>A long-running etcdctl (elect, lock without a command) whose output is read as it comes; stopped with SIGTERM, as Ctrl+C would.</summary>
internal sealed class EtcdctlProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    public EtcdctlProcess(string endpoints, params string[] args)
    {
        var start = new ProcessStartInfo(ExternalTools.Require("etcdctl", "etcd-client"))
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        start.Environment["ETCDCTL_API"] = "3";
        start.ArgumentList.Add("--endpoints=" + endpoints);
        foreach (var a in args) start.ArgumentList.Add(a);
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue("stderr: " + e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public IReadOnlyList<string> Lines => [.. _lines];

    public string Output => string.Join('\n', _lines);

    public bool HasExited => _process.HasExited;

    /// <summary>SIGTERM: etcdctl resigns or unlocks and revokes its session's lease on the way out.</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited) return;
        Signals.Send(_process.Id, Signals.Sigterm);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await _process.WaitForExitAsync(timeout.Token);
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill();
        _process.Dispose();
    }
}
