using System.Text;
using System.Text.RegularExpressions;
using PortMapper.Protocols.Upnp;
using static PortMapper.Gateway.Tests.Upnp.UpnpControlFixture;

namespace PortMapper.Gateway.Tests.Upnp;

/// <summary>
/// Every action of every service with random and edge-case argument values: each call gets an answer (success
/// or a fault with a code the specifications define), none throws, and secure mode holds throughout: no lease
/// ever points at a host other than its client.
/// </summary>
public sealed partial class UpnpControlRandomTests
{
    private static readonly string[] s_values =
    [
        "", " ", "0", "1", "-1", "65535", "65536", "4294967295", "4294967296", "99999999999999999999", "TCP", "udp", "ICMP", "*",
        "192.168.77.10", "192.168.77.11", "192.168.77.1", "192.168.77.255", "127.0.0.1", "0.0.0.0", "224.0.0.1", "203.0.113.2",
        "2001:db8:77::10", "2001:db8:77::11", "fe80::1", "::", "::1", "ff02::1", "host.lan", "1", "true", "yes", "IP_Routed",
        "<x>", "&amp;", "\u200F", new string('a', 5000), "8080", "20000", "6", "17", "600", "86400", "604800",
    ];

    private static readonly int[] s_defined = [401, 402, 501, 606, 701, 702, 703, 704, 705, 706, 707, 708, 709, 711, 713, 714, 716, 718, 723, 728, 729, 730, 732, 733];

    [GeneratedRegex("<errorCode>(\\d+)</errorCode>")]
    private static partial Regex ErrorCodePattern();

    [Fact]
    public async Task RandomArguments_AlwaysAnsweredWithDefinedCodes_AndSecureModeHolds()
    {
        await using var f = await StartAsync();
        var random = new Random(20261125);
        var seen = new HashSet<int>();
        foreach (ServiceDefinition service in ServiceDefinition.All)
        {
            foreach (ServiceAction action in service.Actions)
            {
                for (int round = 0; round < 60; round++)
                {
                    (string, string)[] arguments = [.. action.Inputs
                        .Where(_ => random.Next(20) != 0) // now and then an argument is missing
                        .Select(a => (a.Name, s_values[random.Next(s_values.Length)]))];
                    var from = random.Next(3) switch { 0 => Host, 1 => OtherHost, _ => Host6 };
                    string answer = await f.CallAsync(service, action.Name, from, arguments);
                    Assert.StartsWith("<?xml", answer, StringComparison.Ordinal);
                    if (ErrorCodePattern().Match(answer) is { Success: true } m)
                    {
                        int code = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                        Assert.Contains(code, s_defined);
                        Assert.NotEqual(725, code);
                        seen.Add(code);
                    }
                }
            }
        }

        Assert.All(f.Engine.Leases(), l => Assert.Equal(l.Client, l.InternalAddress));
        Assert.Contains(402, seen);
        Assert.Contains(606, seen);
    }
}
