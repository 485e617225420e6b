using System.Diagnostics;

namespace RaftKv.Tests.Infrastructure;

/// <summary>Waits for a condition by polling (never a fixed sleep), up to a bound.</summary>
public static class Poll
{
    public static async Task<T> UntilAsync<T>(Func<Task<T?>> probe, TimeSpan timeout, string what, Func<string>? diagnostics = null)
    {
        var stopwatch = Stopwatch.StartNew();
        Exception? last = null;
        while (stopwatch.Elapsed < timeout)
        {
            try
            {
                var value = await probe().ConfigureAwait(false);
                if (value is not null) return value;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException or System.Text.Json.JsonException)
            {
                last = e;
            }
            await Task.Delay(50).ConfigureAwait(false);
        }
        throw new TimeoutException($"timed out after {timeout.TotalSeconds:F0} s waiting for {what}" +
            (last is null ? "" : $" (last error: {last.Message})") + (diagnostics is null ? "" : "\n" + diagnostics()));
    }

    public static Task UntilAsync(Func<Task<bool>> probe, TimeSpan timeout, string what, Func<string>? diagnostics = null) =>
        UntilAsync<object>(async () => await probe().ConfigureAwait(false) ? new object() : null, timeout, what, diagnostics);
}
