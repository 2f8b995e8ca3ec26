using System.Text.RegularExpressions;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>
/// The arm64 package: cross-built here by packaging/build-deb.sh --arch arm64, not installed, its binary run under
/// qemu-aarch64 user-mode emulation for what that supports (no nftables netlink): the version, the protocol
/// self-test, and check-config on the shipped configuration (in the lab's router namespace) and on a broken one.
/// </summary>
public partial class ArmPackageTests : IClassFixture<GatewayLab>
{
    private const string Qemu = "qemu-aarch64-static";

    /// <summary>Where Debian's libc6-arm64-cross keeps the target's loader and libc: qemu's -L prefix.</summary>
    private const string TargetRoot = "/usr/aarch64-linux-gnu";

    private readonly GatewayLab _lab;

    public ArmPackageTests(GatewayLab lab)
    {
        _lab = lab;
    }

    [Fact]
    public async Task Arm64Deb_CrossBuilt_RunsUnderEmulation()
    {
        string output = Path.Combine(Path.GetTempPath(), _lab.Prefix + "deb-arm64");
        string root = Path.Combine(output, "root");
        try
        {
            ProcessResult build = await Shell.RunAsync("bash", [Path.Combine(Repository.Root, "packaging", "build-deb.sh"), "--arch", "arm64", "--output", output], TimeSpan.FromMinutes(10));
            Assert.True(build.ExitCode == 0, build.ToString());
            string deb = build.Output.Trim().Split('\n')[^1];
            Assert.EndsWith("_arm64.deb", deb, StringComparison.Ordinal);

            ProcessResult fields = await Shell.RunAsync("dpkg-deb", ["-f", deb, "Architecture", "Depends"]);
            Assert.Contains("Architecture: arm64", fields.Output, StringComparison.Ordinal);
            Assert.Matches(@"Depends: libc6 \(>= 2\.\d+\), libnftables1, nftables", fields.Output);

            ProcessResult extract = await Shell.RunAsync("dpkg-deb", ["-x", deb, root]);
            Assert.True(extract.ExitCode == 0, extract.ToString());
            string binary = Path.Combine(root, "usr", "sbin", "portmapper");
            ProcessResult header = await Shell.RunAsync("readelf", ["-h", binary]);
            Assert.Contains("AArch64", header.Output, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(root, "etc", "portmapper", "config.json")));

            // The same build as the amd64 daemon the suite runs: same version, same self-test.
            string native = Environment.GetEnvironmentVariable("PORTMAPPER_BIN") ?? Path.Combine(Repository.Root, "artifacts", "publish", "portmapper");
            ProcessResult version = await Emulated(null, binary, "--version");
            Assert.True(version.ExitCode == 0, version.ToString());
            Assert.Equal((await Shell.RunAsync(native, ["--version"])).Output.Trim(), version.Output.Trim());

            ProcessResult selftest = await Emulated(null, binary, "selftest");
            Assert.True(selftest.ExitCode == 0, selftest.ToString());
            Match passed = SelftestLine().Match(selftest.Output);
            Assert.True(passed.Success, selftest.ToString());
            Assert.Equal((await Shell.RunAsync(native, ["selftest"])).Output.Trim(), passed.Value);
            Assert.True(int.Parse(passed.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 30, passed.Value);

            // The conformance tool ships in the package too, built for arm64.
            string tool = Path.Combine(root, "usr", "bin", "pm-conformance");
            Assert.Contains("AArch64", (await Shell.RunAsync("readelf", ["-h", tool])).Output, StringComparison.Ordinal);
            ProcessResult cases = await Emulated(null, tool, "list");
            Assert.True(cases.ExitCode == 0 && cases.Output.Contains("rfc6886-3.2-external-address", StringComparison.Ordinal), cases.ToString());

            // check-config reads this machine's interfaces (rtnetlink works under emulation): the lab's router.
            ProcessResult shipped = await Emulated(_lab.Gw, binary, "check-config", Path.Combine(root, "etc", "portmapper", "config.json"));
            Assert.True(shipped.ExitCode == 0, shipped.ToString());

            string broken = Path.Combine(output, "broken.json");
            await File.WriteAllTextAsync(broken, """{ "natpmp": { "enabled": "yes" }, "maxLeasesPerClient": -3, "wan": 5 }""");
            ProcessResult refused = await Emulated(_lab.Gw, binary, "check-config", broken);
            Assert.Equal(2, refused.ExitCode);
            string errors = refused.Output + refused.Error;
            Assert.Contains("natpmp: unknown key", errors, StringComparison.Ordinal);
            Assert.Contains("wan: expected a string", errors, StringComparison.Ordinal);
            Assert.Contains("maxLeasesPerClient", errors, StringComparison.Ordinal);
            ProcessResult nativeRefused = await Shell.InNamespaceAsync(_lab.Gw, native, "check-config", broken);
            Assert.Equal(nativeRefused.Output + nativeRefused.Error, errors);
        }
        finally
        {
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
        }
    }

    private static Task<ProcessResult> Emulated(string? ns, string binary, params string[] args)
    {
        string[] command = [Qemu, "-L", TargetRoot, binary, .. args];
        return ns is null ? Shell.RunAsync(command[0], command[1..], TimeSpan.FromMinutes(2)) : Shell.InNamespaceAsync(ns, command);
    }

    [GeneratedRegex(@"selftest: (\d+) passed")]
    private static partial Regex SelftestLine();
}
