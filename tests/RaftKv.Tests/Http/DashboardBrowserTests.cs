using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Playwright;
using RaftKv.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RaftKv.Tests.Http;

/// <summary>
/// The dashboard in a real browser (Debian's chromium, headless, driven by Playwright): it shows one leader, the
/// leader is killed with its stop button, and a new leader in a higher term appears without reloading the page. A watch
/// and a lease made with dotnet-etcd show in the per-member table and the lease table, before the kill and after it.
/// Screenshots are kept in the test output directory (artifacts/).
/// </summary>
[Collection(HttpCollection.Name)]
public sealed class DashboardBrowserTests(ITestOutputHelper output)
{
    private const float Timeout = 30_000;

    [ChromiumFact]
    public async Task KillTheLeaderWithTheButton_ANewLeaderAndAHigherTermAppearWithoutReloading()
    {
        await using var cluster = await FaultCluster.StartAsync();
        var leader = await cluster.WaitForLeaderAsync();
        var term = (await leader.TryStatusAsync())!.Term;
        var viewer = cluster.Members.First(m => m != leader);

        // Writes through the viewer all along (forwarded to the leader): the screenshots show the log tail and the rate dip.
        using var stopWriting = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var writer = WriteAsync(viewer.HttpUrl, stopWriting.Token);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumFactAttribute.ExecutablePath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1200 } });
        var navigations = 0;
        page.FrameNavigated += (_, frame) => { if (frame == page.MainFrame) navigations++; };
        page.Console += (_, message) => output.WriteLine($"browser console: {message.Text}");
        page.PageError += (_, error) => output.WriteLine($"browser error: {error}");
        await page.GotoAsync(viewer.HttpUrl + "/");

        // One leader, the one the members agree on, in their term.
        await WaitAsync(page, "one leader shown",
            "([name, term]) => { const l = document.querySelectorAll('.member[data-role=\"leader\"]'); " +
            "return l.length === 1 && l[0].dataset.member === name && document.getElementById('term').textContent === String(term); }",
            new object[] { leader.Name, (long)term });
        Assert.Equal(2, await page.Locator(".member[data-role=\"follower\"]").CountAsync());

        // A watch on the viewer and a lease with one key: the viewer's row shows 1 watcher, the lease its TTLs from the leader.
        using var client = new EtcdClient(viewer.ClientUrl);
        var lease = (await client.LeaseGrantAsync(new LeaseGrantRequest { TTL = 300 })).ID;
        await client.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8("dashboard/leased"), Value = ByteString.CopyFromUtf8("v"), Lease = lease });
        await using var watch = WatchProbe.Open(viewer.ClientUrl);
        await watch.CreateAsync(new WatchCreateRequest { Key = ByteString.CopyFromUtf8("dashboard/"), RangeEnd = ByteString.CopyFromUtf8("dashboard0") });
        var leaseHex = lease.ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        await WaitAsync(page, "the viewer's watcher and the lease with its TTLs",
            "([viewer, leader, lease]) => { const field = (row, f) => row?.querySelector(`td[data-field=\"${f}\"]`)?.textContent; " +
            "const w = document.querySelector(`#services tr[data-member=\"${viewer}\"]`); " +
            "const l = document.querySelector(`#leases tr[data-lease=\"${lease}\"]`); " +
            "return field(w, 'watchers') === '1' && field(w, 'streams') === '1' && Number(field(w, 'events-sent')) > 0 " +
            "&& field(l, 'granted') === '300 s' && /^\\d+ s$/.test(field(l, 'remaining') || '') && field(l, 'keys') === '1' " +
            "&& document.getElementById('leases-by').textContent.includes(`leader ${leader}`); }",
            new object[] { viewer.Name, leader.Name, leaseHex });
        var remaining = int.Parse((await page.Locator($"#leases tr[data-lease=\"{leaseHex}\"] td[data-field=\"remaining\"]").TextContentAsync())!.Split(' ')[0],
            System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(remaining, 200, 300);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ArtifactPath("dashboard-before.png"), FullPage = true });

        await page.Locator($"button[data-action=\"stop\"][data-member=\"{leader.Name}\"]").ClickAsync();
        await Poll.UntilAsync(() => Task.FromResult(!leader.IsRunning), ProcessCluster.ElectionBound, "the leader's process exiting", cluster.Diagnostics);

        // A new leader, a higher term and the election in the timeline, live.
        await WaitAsync(page, "a new leader in a higher term shown",
            "([old, term]) => { const l = document.querySelectorAll('.member[data-role=\"leader\"]'); " +
            "const gone = document.querySelector(`.member[data-member=\"${old}\"]`); " +
            "return l.length === 1 && l[0].dataset.member !== old && Number(document.getElementById('term').textContent) > term " +
            "&& gone && gone.dataset.reachable === 'false' && document.querySelector('#timeline tr.becameleader') !== null; }",
            new object[] { leader.Name, (long)term });
        var newLeader = await page.Locator(".member[data-role=\"leader\"]").GetAttributeAsync("data-member");
        var newTerm = ulong.Parse(await page.Locator("#term").TextContentAsync() ?? "0", System.Globalization.CultureInfo.InvariantCulture);
        Assert.NotEqual(leader.Name, newLeader);
        Assert.True(newTerm > term);
        // The new leader keeps the lease's clock now (its countdown restarted at most at the full TTL).
        await WaitAsync(page, "the lease's remaining TTL from the new leader",
            "([leader, lease]) => document.getElementById('leases-by').textContent.includes(`leader ${leader}`) " +
            "&& /^\\d+ s$/.test(document.querySelector(`#leases tr[data-lease=\"${lease}\"] td[data-field=\"remaining\"]`)?.textContent || '')",
            new object[] { newLeader!, leaseHex });
        var elected = page.Locator("#timeline tr.becameleader").First;
        Assert.Contains($"{newLeader} became leader at term {newTerm}", await elected.TextContentAsync() ?? "", StringComparison.Ordinal);
        Assert.Equal(1, navigations); // the first load only: everything after came over the event stream

        var after = ArtifactPath("dashboard-after-leader-kill.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = after, FullPage = true });
        await stopWriting.CancelAsync();
        output.WriteLine($"{await writer} writes succeeded while the test ran");
        output.WriteLine($"old leader {leader.Name} (term {term}) killed; new leader {newLeader} at term {newTerm}; screenshot {after}");
    }

    /// <summary>Puts keys every 50 ms until cancelled (at most 2000); failures during the election are expected.</summary>
    private static async Task<int> WriteAsync(string httpUrl, CancellationToken stop)
    {
        var ok = 0;
        for (var i = 0; i < 2000 && !stop.IsCancellationRequested; i++)
        {
            try
            {
                using var content = new StringContent($"value {i}");
                using var response = await HttpJson.Client.PutAsync($"{httpUrl}/v1/kv/dashboard/key{i % 50}", content, stop);
                if (response.IsSuccessStatusCode) ok++;
                await Task.Delay(50, stop);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
            {
            }
        }
        return ok;
    }

    /// <summary>Waits for a condition in the page; on timeout, says what the page showed.</summary>
    private static async Task WaitAsync(IPage page, string what, string expression, object arg)
    {
        try
        {
            await page.WaitForFunctionAsync(expression, arg, new PageWaitForFunctionOptions { Timeout = Timeout });
        }
        catch (TimeoutException)
        {
            var text = await page.Locator("body").InnerTextAsync();
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = ArtifactPath("dashboard-timeout.png"), FullPage = true });
            throw new TimeoutException($"the dashboard did not show {what} within {Timeout / 1000} s; it showed:\n{text[..Math.Min(text.Length, 3000)]}");
        }
    }

    private static string ArtifactPath(string file)
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "artifacts");
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, file);
    }
}
