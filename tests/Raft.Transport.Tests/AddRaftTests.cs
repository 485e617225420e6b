using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RaftKv.Raft.Hosting;
using RaftKv.Raft.Transport.AspNetCore;

namespace RaftKv.Raft.Transport.Tests;

/// <summary>
/// The one-line ASP.NET Core wiring (issue 17): three applications, each with <c>services.AddRaft(...)</c> and
/// <c>app.MapRaft()</c> on its own loopback port, elect a leader and replicate a write to all three state machines.
/// </summary>
public sealed class AddRaftTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly List<WebApplication> _apps = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task ThreeAppsWiredWithAddRaftAndMapRaft_ElectALeader_AndAWriteReachesEveryStateMachine()
    {
        var members = new Dictionary<ulong, Uri>();
        foreach (var id in new ulong[] { 1, 2, 3 }) members[id] = new Uri($"http://127.0.0.1:{FreePort()}");
        var counters = new Dictionary<ulong, Sum>();
        foreach (var (id, url) in members)
        {
            var builder = WebApplication.CreateBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, url.Port, o => o.Protocols = HttpProtocols.Http2));
            var sum = counters[id] = new Sum();
            builder.Services.AddRaft<long, long>(o =>
            {
                o.NodeId = id;
                foreach (var m in members) o.Members[m.Key] = m.Value;
                o.Storage = _ => new MemoryStorage();
                o.StateMachine = _ => sum;
                o.Codec = new Int64Codec();
                o.TickInterval = TimeSpan.FromMilliseconds(20);
                o.ConfigureTransport = t => t with { ConnectTimeout = TimeSpan.FromSeconds(5) };
            });
            var app = builder.Build();
            app.MapRaft();
            await app.StartAsync();
            _apps.Add(app);
        }
        var hosts = _apps.Select(a => a.Services.GetRequiredService<TypedRaftHost<long, long>>()).ToArray();
        var stopwatch = Stopwatch.StartNew();
        while (!hosts.Any(h => h.IsLeader) && stopwatch.Elapsed < Bound) await Task.Delay(10);
        var leader = hosts.Single(h => h.IsLeader);

        Assert.Equal(42, await leader.ProposeAsync(42).AsTask().WaitAsync(Bound));
        while (counters.Values.Any(c => c.Value != 42) && stopwatch.Elapsed < Bound) await Task.Delay(10);
        Assert.All(counters.Values, c => Assert.Equal(42, c.Value));
        // A follower's linearizable read sees the write too.
        var follower = hosts.First(h => !h.IsLeader);
        Assert.Equal(42, await follower.ReadAsync(() => counters[follower.Id].Value).AsTask().WaitAsync(Bound));
    }

    // The OS picks a free port; it is released at once and bound again by Kestrel (peers must know it beforehand).
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class Sum : IStateMachine<long, long>
    {
        private long _value;

        public long Value => Interlocked.Read(ref _value);

        public long Apply(long command, ulong index) => Interlocked.Add(ref _value, command);

        public IStateMachineSnapshot CaptureSnapshot() => new Captured(Value);

        public void Restore(Stream source)
        {
            Span<byte> bytes = stackalloc byte[8];
            source.ReadExactly(bytes);
            Interlocked.Exchange(ref _value, BinaryPrimitives.ReadInt64LittleEndian(bytes));
        }

        private sealed class Captured(long value) : IStateMachineSnapshot
        {
            public long SizeHintBytes => 8;

            public void WriteTo(Stream destination)
            {
                Span<byte> bytes = stackalloc byte[8];
                BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
                destination.Write(bytes);
            }
        }
    }

    private sealed class Int64Codec : ICommandCodec<long>
    {
        public void Encode(long value, IBufferWriter<byte> destination)
        {
            BinaryPrimitives.WriteInt64LittleEndian(destination.GetSpan(8), value);
            destination.Advance(8);
        }

        public long Decode(ReadOnlySpan<byte> source) => BinaryPrimitives.ReadInt64LittleEndian(source);
    }
}
