using System.Net.Sockets;
using Microsoft.Playwright;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>
/// The admin web page in headless Chromium (Debian's, driven by Playwright .NET) against the real daemon. The
/// browser runs inside the gateway's namespace, where the endpoint listens on 127.0.0.1:8470.
/// </summary>
public sealed class AdminPageTests : IClassFixture<GatewayLab>, IDisposable
{
    private static readonly string[] s_chromiumArgs =
        ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"];

    private readonly GatewayLab _lab;
    private readonly string _launcher;

    public AdminPageTests(GatewayLab lab)
    {
        _lab = lab;

        // Playwright talks to the browser over inherited pipes, which 'ip netns exec' passes on.
        _launcher = Path.Combine(Path.GetTempPath(), $"{lab.Prefix}chromium.sh");
        File.WriteAllText(_launcher, $"#!/bin/sh\nexec ip netns exec {lab.Gw} /usr/bin/chromium \"$@\"\n");
        File.SetUnixFileMode(_launcher, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private string Token => File.ReadAllText(Path.Combine(_lab.StateDirectory, "admin.token")).Trim();

    [Fact]
    public async Task NatPmpLease_AppearsOnThePage_RevokeRemovesItFromThePageAndTheKernel()
    {
        using TcpListener service = GatewayLab.ServeTcp(_lab.Lan1, 7600, "page");
        Assert.Equal(7600, (await _lab.NatPmpcAsync(_lab.Lan1, 7600, 7600, "tcp", 3600)).PublicPort);

        using IPlaywright playwright = await Playwright.CreateAsync();
        await using IBrowser browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = _launcher, Headless = true, Args = s_chromiumArgs });
        IPage page = await browser.NewPageAsync();

        IResponse? refused = await page.GotoAsync("http://127.0.0.1:8470/");
        Assert.Equal(401, refused!.Status);

        await page.GotoAsync($"http://127.0.0.1:8470/?token={Token}");
        await Assertions.Expect(page.Locator("#external")).ToHaveTextAsync("203.0.113.1");
        await Assertions.Expect(page.Locator("#kernel")).ToHaveTextAsync("in sync");

        ILocator row = page.Locator("#devices tbody tr", new() { HasText = "192.168.77.10:7600" });
        await Assertions.Expect(row).ToHaveCountAsync(1);
        string text = await row.InnerTextAsync();
        Assert.Contains("TCP", text, StringComparison.Ordinal);
        Assert.Contains("natpmp", text, StringComparison.Ordinal);
        Assert.Matches(@"\d+m \d+s", text);

        await row.GetByRole(AriaRole.Button, new() { Name = "Revoke" }).ClickAsync();
        await Assertions.Expect(row).ToHaveCountAsync(0);
        Assert.DoesNotContain("tcp . 7600", await _lab.KernelTableAsync(), StringComparison.Ordinal);
        Assert.Null(await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 7600, TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task HostileDescription_IsShownAsText()
    {
        // A UPnP description is chosen by a LAN host: the page must show it, never run it.
        string add = RawHttp.Soap("/ctl/IPConn1", "urn:schemas-upnp-org:service:WANIPConnection:1", "AddPortMapping",
            "<NewRemoteHost></NewRemoteHost><NewExternalPort>7650</NewExternalPort><NewProtocol>UDP</NewProtocol><NewInternalPort>7650</NewInternalPort>"
            + "<NewInternalClient>192.168.77.11</NewInternalClient><NewEnabled>1</NewEnabled><NewLeaseDuration>600</NewLeaseDuration>"
            + "<NewPortMappingDescription>&lt;img src=x onerror=\"document.title='pwned'\"&gt;</NewPortMappingDescription>");
        Assert.Equal(200, RawHttp.Status(await RawHttp.ExchangeAsync(_lab.Lan2, GatewayLab.GatewayLan, add)));

        using IPlaywright playwright = await Playwright.CreateAsync();
        await using IBrowser browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = _launcher, Headless = true, Args = s_chromiumArgs });
        IPage page = await browser.NewPageAsync();
        await page.GotoAsync($"http://127.0.0.1:8470/?token={Token}");
        ILocator row = page.Locator("#devices tbody tr", new() { HasText = "192.168.77.11:7650" });
        await Assertions.Expect(row).ToContainTextAsync("<img src=x onerror=");
        Assert.Equal("PortMapper", await page.TitleAsync());
        Assert.Equal(0, await page.Locator("#devices img, #events img").CountAsync());
    }

    [Fact]
    public async Task Page_FollowsTheEventStream_DeviceAppears_DenySwitchRevokesInTheKernel_Screenshot()
    {
        using IPlaywright playwright = await Playwright.CreateAsync();
        await using IBrowser browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = _launcher, Headless = true, Args = s_chromiumArgs });
        IPage page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1280, Height = 900 } });
        int loads = 0;
        page.Load += (_, _) => loads++;
        await page.GotoAsync($"http://127.0.0.1:8470/?token={Token}");
        await Assertions.Expect(page.Locator("#live")).ToHaveTextAsync("live");

        // A device maps a port: without a reload, it appears with the mapping under it, and the event is listed.
        string mac = System.Text.RegularExpressions.Regex.Match((await Shell.CheckedAsync(_lab.Lan2, "ip", "-br", "link", "show", "eth0")).Output, "([0-9a-f]{2}:){5}[0-9a-f]{2}").Value;
        using TcpListener service = GatewayLab.ServeTcp(_lab.Lan2, 7700, "page");
        Assert.Equal(7700, (await _lab.NatPmpcAsync(_lab.Lan2, 7700, 7700, "tcp", 3600)).PublicPort);
        ILocator device = page.Locator($"section.device[data-device='{mac}']");
        await Assertions.Expect(device.Locator("tbody tr", new() { HasText = "192.168.77.11:7700" })).ToHaveCountAsync(1);
        await Assertions.Expect(device.Locator(".addresses")).ToContainTextAsync("192.168.77.11");
        await Assertions.Expect(page.Locator("#events li", new() { HasText = "granted" }).Filter(new() { HasText = "7700" })).Not.ToHaveCountAsync(0);

        // Traffic through the mapping, from the kernel's counters: a connection from the WAN shows up after a refresh.
        Assert.Equal("page", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 7700, TimeSpan.FromSeconds(3)));
        await device.Locator("input[aria-label='Open NAT']").CheckAsync();
        await Assertions.Expect(device.Locator("input[aria-label='Open NAT']")).ToBeCheckedAsync();
        await Assertions.Expect(page.Locator("#events li", new() { HasText = "open-nat-changed" })).Not.ToHaveCountAsync(0);
        ILocator traffic = device.Locator("tbody tr", new() { HasText = "192.168.77.11:7700" }).Locator("td.traffic");
        await Assertions.Expect(traffic).Not.ToHaveTextAsync("—");
        Assert.Matches(@"^[1-9]\d*, \d+ B$", await traffic.InnerTextAsync());

        // The chart has a bar for each of the last 60 minutes, and counts the request just made.
        Assert.Equal(60, await page.Locator("#chart rect").CountAsync());
        Assert.NotEqual("0", await page.Locator("#chart-total").InnerTextAsync());

        await page.ScreenshotAsync(new() { Path = ScreenshotPath("admin-page.png"), FullPage = true });

        // The switch to deny: the mapping leaves the kernel, the page shows it without a reload, and the events say so.
        await device.Locator("input[aria-label='may map ports']").UncheckAsync();
        await Assertions.Expect(device).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("denied"));
        await Assertions.Expect(device.Locator("tbody tr")).ToHaveCountAsync(0);
        Assert.DoesNotContain("tcp . 7700", await _lab.KernelTableAsync(), StringComparison.Ordinal);
        await Assertions.Expect(page.Locator("#events li", new() { HasText = "revoked" }).Filter(new() { HasText = "7700" })).Not.ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("#events li", new() { HasText = "permission-changed" })).Not.ToHaveCountAsync(0);
        await page.ScreenshotAsync(new() { Path = ScreenshotPath("admin-page-denied.png"), FullPage = true });
        Assert.Equal(1, loads);

        ProcessResult allow = await Shell.InNamespaceAsync(_lab.Gw, Repository.DaemonPath, "devices", "allow", mac, "--state-dir", _lab.StateDirectory);
        Assert.True(allow.ExitCode == 0, allow.ToString());
    }

    /// <summary>Where a screenshot goes: artifacts/test-results (kept with the test results for a reviewer).</summary>
    private static string ScreenshotPath(string name)
    {
        string directory = Path.Combine(Repository.Root, "artifacts", "test-results");
        Directory.CreateDirectory(directory);
        return Path.Combine(directory, name);
    }

    public void Dispose() => File.Delete(_launcher);
}
