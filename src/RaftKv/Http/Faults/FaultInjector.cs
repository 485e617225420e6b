using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RaftKv.Http.Api;
using RaftKv.Http.Cluster;
using RaftKv.Server;

namespace RaftKv.Http.Faults;

/// <summary>
/// Fault injection for the dashboard's buttons (only with <c>--allow-fault-injection</c>). Every action is carried
/// out by the target member on itself, reached over its peer port; only what a stopped or paused process cannot do
/// for itself is done by the member that was asked: resuming a paused member (SIGCONT to its pid) and starting a
/// stopped one again (its last known command line). Both need the target on the same host, as in <c>raftkv cluster</c>.
/// </summary>
public sealed partial class FaultInjector(NodeContext node, PartitionState partition, PeerClient peers, ClusterWatcher watcher,
    IHostApplicationLifetime lifetime, ILogger logger)
{
    /// <summary>The actions, as in <c>POST /v1/fault/{action}</c>.</summary>
    public static readonly IReadOnlyList<string> Actions = ["stop", "pause", "resume", "restart", "partition", "heal"];

    /// <summary>Pause length when none is given.</summary>
    public const int DefaultPauseMs = 5000;

    /// <summary>Shortest pause or timed partition.</summary>
    public const int MinMs = 100;

    /// <summary>Longest pause or timed partition.</summary>
    public const int MaxMs = 600_000;

    private static readonly TimeSpan ForwardTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan AnnounceEvery = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan ReplyFirst = TimeSpan.FromMilliseconds(100);
    private int _announcing;

    /// <summary>Handles a request from the HTTP API for <paramref name="memberName"/> (default: this member).</summary>
    public async Task<IResult> HandleAsync(string action, string? memberName, int? ms, CancellationToken cancellationToken)
    {
        var settings = node.Settings;
        if (Refuse(action, ms) is { } refused) return refused;
        var target = string.IsNullOrEmpty(memberName) ? settings.Self : LiveMembers.Find(node, memberName) is { } found ? found.Reachable : null;
        if (target is null)
        {
            var known = LiveMembers.Find(node, memberName!) is not null;
            return ApiError.Reply(404, known ? $"member '{memberName}' has no peer URL in the member table: it cannot be reached"
                : $"no member named '{memberName}' (members: {string.Join(", ", LiveMembers.Of(node).Select(m => m.Name))})");
        }
        if (target.Id == settings.Self.Id) return ApplyToSelf(action, ms);
        if (action == "resume") return Resume(target);
        try
        {
            var query = ms is { } m ? "?ms=" + m.ToString(CultureInfo.InvariantCulture) : "";
            var (status, body) = await peers.PostAsync(target, $"/fault/{action}{query}", null, ForwardTimeout, cancellationToken).ConfigureAwait(false);
            return Results.Text(body, "application/json", Encoding.UTF8, status);
        }
        catch (Exception e) when (e is HttpRequestException or TimeoutException or IOException)
        {
            if (action == "restart") return StartStopped(target, e.Message);
            return ApiError.Reply(502, $"{target.Name} did not answer: {e.Message}");
        }
    }

    /// <summary>Checks that fault injection is on here and the action and duration are valid; null when they are.</summary>
    public IResult? Refuse(string action, int? ms)
    {
        if (!node.Settings.AllowFaultInjection)
            return ApiError.Reply(403, $"fault injection is off on {node.Settings.Name}: start it with --allow-fault-injection ('raftkv cluster' does)");
        if (!Actions.Contains(action)) return ApiError.Reply(404, $"unknown fault action '{action}': use one of {string.Join(", ", Actions)}");
        if (ms is { } m && (m < MinMs || m > MaxMs)) return ApiError.Reply(400, $"ms must be between {MinMs} and {MaxMs}, was {m}");
        return null;
    }

    /// <summary>Carries out <paramref name="action"/> on this member (the reply goes out before it takes effect).</summary>
    public IResult ApplyToSelf(string action, int? ms)
    {
        if (Refuse(action, ms) is { } refused) return refused;
        var name = node.Settings.Name;
        LogFault(logger, name, action);
        switch (action)
        {
            case "stop":
                After(() => SelfProcess.Signal(SelfProcess.Pid, SelfProcess.SigKill));
                return Reply(202, action, $"{name} stops now (kill -9); 'restart' starts it again");
            case "pause":
                var pause = TimeSpan.FromMilliseconds(ms ?? DefaultPauseMs);
                After(() => SelfProcess.PauseSelf(pause));
                return Reply(202, action, $"{name} pauses for {pause.TotalMilliseconds:F0} ms (SIGSTOP), then resumes by itself");
            case "resume":
                return Reply(200, action, $"{name} is not paused (it answered)");
            case "restart":
                After(() =>
                {
                    SelfProcess.Relaunch(SelfProcess.Launch(), SelfProcess.Pid);
                    lifetime.StopApplication();
                });
                return Reply(202, action, $"{name} restarts: it stops and starts again with the same command line");
            case "partition":
                partition.IsolateSelf(ms is { } m ? TimeSpan.FromMilliseconds(m) : null);
                if (Interlocked.Exchange(ref _announcing, 1) == 0) _ = AnnounceAsync(lifetime.ApplicationStopping);
                return Reply(200, action, $"{name} is cut off from its peers" + (ms is null ? " until 'heal'" : $" for {ms} ms"));
            default: // heal
                partition.Heal();
                var self = node.Settings.Self;
                _ = TellAsync(LiveMembers.Peers(node),
                    new IsolationNotice(StatusReply.Hex(self.Id), false), lifetime.ApplicationStopping);
                return Reply(200, action, $"{name} is connected to its peers again");
        }
    }

    /// <summary>A peer says it is (or is no longer) partitioned.</summary>
    public IResult PeerAnnounced(IsolationNotice notice)
    {
        ArgumentNullException.ThrowIfNull(notice);
        if (!ulong.TryParse(notice.From, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var id) || LiveMembers.Find(node, id) is null)
            return ApiError.Reply(400, $"'{notice.From}' is not a member id of this cluster");
        partition.PeerAnnounced(id, notice.Isolated);
        return Results.NoContent();
    }

    private IResult Resume(Member target)
    {
        if (watcher.LastKnown(target.Id) is not { } view)
            return ApiError.Reply(409, $"the process of {target.Name} is unknown here: it was never seen running while the dashboard was open");
        if (!SelfProcess.IsMember(view.Pid, target.Name))
            return ApiError.Reply(409, $"{target.Name} (pid {view.Pid}) is not running on this host");
        SelfProcess.Signal(view.Pid, SelfProcess.SigCont);
        LogFault(logger, target.Name, "resume");
        return Reply(202, "resume", $"sent SIGCONT to {target.Name} (pid {view.Pid})", target.Name);
    }

    private IResult StartStopped(Member target, string why)
    {
        if (watcher.LastKnown(target.Id) is not { Launch: { } launch } view)
            return ApiError.Reply(409, $"{target.Name} did not answer ({why}) and its command line is unknown here: start it by hand");
        if (SelfProcess.IsMember(view.Pid, target.Name))
            return ApiError.Reply(409, $"{target.Name} (pid {view.Pid}) still runs but does not answer ({why}): resume or stop it first");
        if (launch.Arguments.Count == 0 || launch.Arguments[0] != "serve" || !launch.Arguments.Contains(target.Name))
            return ApiError.Reply(409, $"{target.Name}'s command line does not start that member: start it by hand");
        SelfProcess.Relaunch(launch, view.Pid);
        LogFault(logger, target.Name, "start");
        return Reply(202, "restart", $"{target.Name} was not running; starting it again with its last command line", target.Name);
    }

    private IResult Reply(int status, string action, string result, string? member = null) =>
        Results.Json(new FaultReply(member ?? node.Settings.Name, action, result), statusCode: status);

    private void After(Action act) => _ = Task.Run(async () =>
    {
        await Task.Delay(ReplyFirst).ConfigureAwait(false); // let the reply reach the caller first
        try
        {
            act();
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or IOException)
        {
            LogFaultFailed(logger, node.Settings.Name, e.Message);
        }
    });

    /// <summary>While partitioned, tells every peer to drop this member's traffic (a renewed lease); on heal, tells them it is over.</summary>
    private async Task AnnounceAsync(CancellationToken stopping)
    {
        var self = node.Settings.Self;
        try
        {
            while (partition.SelfIsolated && !stopping.IsCancellationRequested)
            {
                var others = LiveMembers.Peers(node); // the members now: one may join or leave while partitioned
                await TellAsync(others, new IsolationNotice(StatusReply.Hex(self.Id), true), stopping).ConfigureAwait(false);
                await Task.Delay(AnnounceEvery, stopping).ConfigureAwait(false);
            }
            await TellAsync(LiveMembers.Peers(node), new IsolationNotice(StatusReply.Hex(self.Id), false), stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            Volatile.Write(ref _announcing, 0);
            // Isolated again between the last check and the reset: keep announcing.
            if (partition.SelfIsolated && !stopping.IsCancellationRequested && Interlocked.Exchange(ref _announcing, 1) == 0) _ = AnnounceAsync(stopping);
        }
    }

    private Task TellAsync(Member[] others, IsolationNotice notice, CancellationToken stopping) =>
        Task.WhenAll(others.Select(async m =>
        {
            try
            {
                await peers.PostAsync(m, "/isolation", notice, ClusterWatcher.PeerTimeout, stopping).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or TimeoutException or IOException)
            {
                // A peer that is down needs no telling; one that misses a renewal still holds the lease a while.
            }
        }));

    [LoggerMessage(EventId = 600, Level = LogLevel.Warning, Message = "fault injection: {Action} {Name}")]
    private static partial void LogFault(ILogger logger, string name, string action);

    [LoggerMessage(EventId = 601, Level = LogLevel.Error, Message = "fault injection on {Name} failed: {Reason}")]
    private static partial void LogFaultFailed(ILogger logger, string name, string reason);
}

/// <summary>The answer to a fault action.</summary>
/// <param name="Member">The member acted on.</param>
/// <param name="Action">What was done.</param>
/// <param name="Result">What happens now, for a person.</param>
public sealed record FaultReply(string Member, string Action, string Result);

/// <summary>A partitioned member's announcement to its peers.</summary>
/// <param name="From">Its id (hex).</param>
/// <param name="Isolated">True: drop my traffic (for <see cref="PartitionState.Lease"/>); false: it is over.</param>
public sealed record IsolationNotice(string From, bool Isolated);
