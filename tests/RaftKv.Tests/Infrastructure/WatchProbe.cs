using System.Threading.Channels;
using Etcdserverpb;
using Grpc.Core;
using Grpc.Net.Client;

namespace RaftKv.Tests.Infrastructure;

/// <summary>
/// One raw etcd Watch stream for tests: requests go out as given, every response is kept in arrival order, and a
/// test takes them either by count or once the stream has gone quiet (bounded waits, no fixed sleeps).
/// </summary>
public sealed class WatchProbe : IAsyncDisposable
{
    private readonly GrpcChannel _channel;
    private readonly AsyncDuplexStreamingCall<WatchRequest, WatchResponse> _call;
    private readonly Channel<WatchResponse> _received = Channel.CreateUnbounded<WatchResponse>();
    private readonly Task _reader;
    private readonly CancellationTokenSource _stop = new();

    private WatchProbe(string url, Metadata? headers)
    {
        _channel = GrpcChannel.ForAddress(url.StartsWith("http", StringComparison.Ordinal) ? url : "http://" + url);
        _call = new Etcdserverpb.Watch.WatchClient(_channel).Watch(headers, cancellationToken: _stop.Token);
        _reader = Task.Run(ReadAsync);
    }

    /// <summary>Why the stream ended (null while it is open or when it ended cleanly).</summary>
    public RpcException? Ended { get; private set; }

    /// <summary>Opens a stream to <paramref name="url"/> (host:port or http://host:port).</summary>
    public static WatchProbe Open(string url, Metadata? headers = null) => new(url, headers);

    public Task SendAsync(WatchRequest request) => _call.RequestStream.WriteAsync(request);

    public Task CreateAsync(WatchCreateRequest create) => SendAsync(new WatchRequest { CreateRequest = create });

    /// <summary>The next <paramref name="count"/> responses, waiting at most <paramref name="timeout"/> in all.</summary>
    public async Task<List<WatchResponse>> TakeAsync(int count, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        var taken = new List<WatchResponse>();
        try
        {
            while (taken.Count < count) taken.Add(await _received.Reader.ReadAsync(deadline.Token));
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"got {taken.Count} of {count} watch responses in {timeout}; stream ended: {Ended?.Status.Detail ?? "no"}:\n" +
                string.Join("\n", taken));
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException($"the watch stream ended ({Ended?.Status}) after {taken.Count} of {count} responses");
        }
        return taken;
    }

    /// <summary>Every response that arrives until none has for <paramref name="quiet"/> (at most <paramref name="max"/> in all).</summary>
    public async Task<List<WatchResponse>> DrainAsync(TimeSpan quiet, TimeSpan max)
    {
        var taken = new List<WatchResponse>();
        var end = DateTime.UtcNow + max;
        while (DateTime.UtcNow < end)
        {
            using var wait = new CancellationTokenSource(quiet);
            try
            {
                taken.Add(await _received.Reader.ReadAsync(wait.Token));
            }
            catch (OperationCanceledException)
            {
                return taken;
            }
            catch (ChannelClosedException)
            {
                return taken;
            }
        }
        return taken;
    }

    /// <summary>Waits (bounded) until the server ends the stream; returns its status.</summary>
    public async Task<RpcException?> WaitForEndAsync(TimeSpan timeout)
    {
        await _reader.WaitAsync(timeout);
        return Ended;
    }

    private async Task ReadAsync()
    {
        try
        {
            while (await _call.ResponseStream.MoveNext(_stop.Token)) await _received.Writer.WriteAsync(_call.ResponseStream.Current);
        }
        catch (RpcException e)
        {
            Ended = e;
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            _received.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _reader;
        }
        catch (Exception)
        {
            // closing
        }
        _call.Dispose();
        _channel.Dispose();
        _stop.Dispose();
    }
}
