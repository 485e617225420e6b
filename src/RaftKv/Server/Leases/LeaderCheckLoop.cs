using Microsoft.Extensions.Hosting;

namespace RaftKv.Server.Leases;

/// <summary>
/// A background check the leader runs every <paramref name="interval"/> (expiry, checkpoints): the timer loop and its
/// clean stop, once. <see cref="Check"/> decides whether this member leads and what to propose; it must not block.
/// </summary>
public abstract class LeaderCheckLoop(TimeSpan interval) : BackgroundService
{
    /// <summary>Whether the loop runs at all (a feature switched off by its flag).</summary>
    protected virtual bool Enabled => true;

    /// <summary>One check; proposals it starts run on their own and end with <paramref name="stoppingToken"/>.</summary>
    protected abstract void Check(CancellationToken stoppingToken);

    /// <inheritdoc />
    protected sealed override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled) return;
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                Check(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping
        }
    }
}
