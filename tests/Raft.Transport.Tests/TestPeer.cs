using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace RaftKv.Raft.Transport.Tests;

/// <summary>
/// One member's peer endpoint: a Kestrel server on 127.0.0.1 with a port the system picked, serving
/// <see cref="RaftPeerService"/> (optionally through a <see cref="ChunkTampering"/> interceptor). The transport is
/// attached after the server started, when every member's address is known.
/// </summary>
public sealed class TestPeer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private GrpcTransport? _transport;

    private TestPeer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    public GrpcTransport Transport => _transport ?? throw new InvalidOperationException("no transport attached");

    public static async Task<TestPeer> StartAsync(ChunkTampering? tampering = null)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = null;
            if (tampering is not null) o.Interceptors.Add<ChunkTamperingInterceptor>(tampering);
        });
        TestPeer? peer = null;
        // Resolved at the first call, after Attach.
        builder.Services.AddSingleton(_ => peer!.Transport);
        var app = builder.Build();
        app.MapGrpcService<RaftPeerService>();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        peer = new TestPeer(app, new Uri(address));
        return peer;
    }

    public GrpcTransport Attach(TransportOptions options)
    {
        _transport = new GrpcTransport(options);
        return _transport;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
