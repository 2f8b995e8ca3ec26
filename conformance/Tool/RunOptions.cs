using System.Net;

namespace PortMapper.Conformance.Tool;

/// <summary>The command line of a run.</summary>
internal sealed record RunOptions(
    IPAddress Gateway,
    IPAddress? Gateway6,
    IReadOnlySet<string> Suites,
    IReadOnlyList<string> CasePrefixes,
    string? WanHelper,
    string? ReportPath,
    string? JUnitPath,
    IReadOnlyList<IPAddress> ExtraClients,
    IPAddress? External,
    int BasePort,
    TimeSpan Timeout,
    bool Verbose)
{
    public static readonly string[] AllSuites = ["natpmp", "pcp", "upnp", "security", "dataplane"];

    public const string Usage = """
        pm-conformance: checks a port-mapping gateway (NAT-PMP, PCP, UPnP IGD) against RFC 6886, RFC 6887 and the UPnP
        IGD:1/IGD:2 specifications, case by case, from a host on its LAN.

        usage: pm-conformance --gateway ADDR [--gateway6 ADDR] [--suite natpmp,pcp,upnp,security,dataplane] [--case ID,...] [--wan-helper SPEC]
                              [--report FILE.json] [--junit FILE.xml] [--also-client ADDR]... [--external ADDR] [--ports N] [--verbose]
               pm-conformance wan-agent [--listen ADDR:PORT | --stdio]

          --gateway ADDR      the gateway's LAN address (the only address the suite sends to, with the WAN helper)
          --gateway6 ADDR     its IPv6 LAN address, for the IPv6 PCP cases (without it they SKIP)
          --suite LIST        which suites to run (default: all)
          --case LIST         only the cases whose id starts with one of these (e.g. rfc6887-11,dp-)
          --wan-helper SPEC   a host beyond the WAN that proves mappings forward: agent:HOST:PORT (a running
                              'pm-conformance wan-agent'), ssh:HOST (runs 'pm-conformance wan-agent --stdio' there),
                              or exec:COMMAND (any command speaking the agent's protocol on stdin/stdout)
          --also-client ADDR  another address of this host (as root: one added to the LAN interface), for cases
                              between two clients (conflicts, another host's mappings); without it they SKIP
          --external ADDR     the address the WAN helper sends to (default: the one the gateway reports by NAT-PMP)
          --ports N           the first of the 200 internal/external ports the suite uses (default 41000)
          --report FILE       a JSON report; --junit FILE: JUnit XML
        Exit code: 0 when nothing failed, 1 when a case failed, 2 for a bad command line.
        Every mapping the suite makes is deleted at the end, also on Ctrl-C.
        """;

    public static RunOptions? Parse(string[] args, TextWriter error)
    {
        IPAddress? gateway = null;
        IPAddress? gateway6 = null;
        HashSet<string> suites = [.. AllSuites];
        string[] cases = [];
        string? helper = null;
        string? report = null;
        string? junit = null;
        var extra = new List<IPAddress>();
        IPAddress? external = null;
        int basePort = 41000;
        bool verbose = false;
        for (int i = 0; i < args.Length; i++)
        {
            string? Next() => i + 1 < args.Length ? args[++i] : null;
            switch (args[i])
            {
                case "--gateway" when IPAddress.TryParse(Next(), out IPAddress? address):
                    gateway = address;
                    break;
                case "--gateway6" when IPAddress.TryParse(Next(), out IPAddress? address) && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6:
                    gateway6 = address;
                    break;
                case "--suite" when Next() is { } list:
                    suites = [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
                    if (suites.FirstOrDefault(s => !AllSuites.Contains(s)) is { } unknown)
                    {
                        error.WriteLine($"pm-conformance: unknown suite '{unknown}' (suites: {string.Join(", ", AllSuites)})");
                        return null;
                    }

                    break;
                case "--case" when Next() is { } list:
                    cases = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    break;
                case "--wan-helper" when Next() is { } spec:
                    helper = spec;
                    break;
                case "--report" when Next() is { } path:
                    report = path;
                    break;
                case "--junit" when Next() is { } path:
                    junit = path;
                    break;
                case "--also-client" when IPAddress.TryParse(Next(), out IPAddress? address):
                    extra.Add(address);
                    break;
                case "--external" when IPAddress.TryParse(Next(), out IPAddress? address):
                    external = address;
                    break;
                case "--ports" when int.TryParse(Next(), out int port) && port is >= 1024 and <= 65000:
                    basePort = port;
                    break;
                case "--verbose":
                    verbose = true;
                    break;
                default:
                    error.WriteLine($"pm-conformance: cannot use '{args[i]}' here\n\n{Usage}");
                    return null;
            }
        }

        if (gateway is null)
        {
            error.WriteLine($"pm-conformance: --gateway ADDR is required\n\n{Usage}");
            return null;
        }

        return new RunOptions(gateway, gateway6, suites, cases, helper, report, junit, extra, external, basePort, TimeSpan.FromSeconds(30), verbose);
    }
}
