using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>The Debian package: built with dpkg-deb, installed with dpkg, its configuration checked, removed and purged without a trace.</summary>
public class PackageTests : IClassFixture<GatewayLab>
{
    private readonly GatewayLab _lab;

    public PackageTests(GatewayLab lab)
    {
        _lab = lab;
    }

    [Fact]
    public async Task Deb_InstallsChecksItsConfigAndRemovesCleanly()
    {
        // Never clobber a real installation on the machine running the tests.
        ProcessResult before = await Shell.RunAsync("dpkg-query", ["-W", "-f=${Status}", "portmapper"]);
        Assert.DoesNotContain("install ok installed", before.Output, StringComparison.Ordinal);

        string output = Path.Combine(Path.GetTempPath(), _lab.Prefix + "deb");
        // ./test has published the NativeAOT binary and says where (PORTMAPPER_BIN); otherwise the script publishes it.
        ProcessResult build = await Shell.RunAsync("bash", [Path.Combine(Repository.Root, "packaging", "build-deb.sh"), "--output", output], TimeSpan.FromMinutes(5));
        Assert.True(build.ExitCode == 0, build.ToString());
        string deb = build.Output.Trim().Split('\n')[^1];
        Assert.True(File.Exists(deb), deb);

        ProcessResult contents = await Shell.RunAsync("dpkg-deb", ["-c", deb]);
        foreach (string path in new[] { "./usr/sbin/portmapper", "./usr/bin/pm-conformance", "./lib/systemd/system/portmapper.service", "./etc/portmapper/config.json", "./usr/share/doc/portmapper/README.md" })
        {
            Assert.Contains(path, contents.Output, StringComparison.Ordinal);
        }

        try
        {
            ProcessResult install = await Shell.RunAsync("dpkg", ["-i", deb], TimeSpan.FromMinutes(2));
            Assert.True(install.ExitCode == 0, install.ToString());
            Assert.True(File.Exists("/usr/sbin/portmapper"));

            ProcessResult list = await Shell.RunAsync("/usr/bin/pm-conformance", ["list"]);
            Assert.True(list.ExitCode == 0 && list.Output.Split('\n').Count(l => l.Contains("RFC 6887", StringComparison.Ordinal)) >= 15, list.ToString());

            ProcessResult verify = await Shell.RunAsync("systemd-analyze", ["verify", "/lib/systemd/system/portmapper.service"]);
            Assert.True(verify.ExitCode == 0, verify.ToString());
            string unit = await File.ReadAllTextAsync("/lib/systemd/system/portmapper.service");
            foreach (string line in new[] { "Type=notify", "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_BIND_SERVICE", "ProtectSystem=strict", "StateDirectory=portmapper", "NoNewPrivileges=yes", "ExecReload=/bin/kill -HUP $MAINPID" })
            {
                Assert.Contains(line + "\n", unit, StringComparison.Ordinal);
            }

            // The shipped configuration is valid on a router (the lab's gateway namespace).
            ProcessResult check = await Shell.InNamespaceAsync(_lab.Gw, "/usr/sbin/portmapper", "check-config", "/etc/portmapper/config.json");
            Assert.True(check.ExitCode == 0, check.ToString());

            ProcessResult remove = await Shell.RunAsync("dpkg", ["-r", "portmapper"]);
            Assert.True(remove.ExitCode == 0, remove.ToString());
            Assert.False(File.Exists("/usr/sbin/portmapper"));
            Assert.False(File.Exists("/lib/systemd/system/portmapper.service"));
            Assert.True(File.Exists("/etc/portmapper/config.json")); // a conffile stays until purge
        }
        finally
        {
            ProcessResult purge = await Shell.RunAsync("dpkg", ["-P", "portmapper"]);
            Assert.True(purge.ExitCode == 0, purge.ToString());
            Directory.Delete(output, recursive: true);
        }

        Assert.False(Directory.Exists("/etc/portmapper"));
        Assert.DoesNotContain("install ok installed", (await Shell.RunAsync("dpkg-query", ["-W", "-f=${Status}", "portmapper"])).Output, StringComparison.Ordinal);
    }
}
