using System.Net;
using System.Net.Sockets;
using PortMapper.Conformance.PcpClient;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>A lab whose daemon serves NAT-PMP only.</summary>
public sealed class NatPmpOnlyLab : GatewayLab
{
    public NatPmpOnlyLab()
    {
        ConfigJson = """{ "pcp": { "enabled": false } }""";
    }
}

/// <summary>
/// PCP clients (libplum, libtorrent, mDNSResponder) try PCP first and fall back to NAT-PMP when a NAT-PMP-only
/// server answers with NAT-PMP's "unsupported version" (RFC 6887 Appendix A).
/// </summary>
public class NatPmpOnlyTests : IClassFixture<NatPmpOnlyLab>
{
    private readonly NatPmpOnlyLab _lab;

    public NatPmpOnlyTests(NatPmpOnlyLab lab)
    {
        _lab = lab;
    }

    [Fact]
    public async Task PcpRequest_GetsNatPmpUnsupportedVersion_ThenNatPmpWorks()
    {
        byte[] map = PcpMessage.Map(GatewayLab.Lan1Address, PcpMessage.Tcp, 8700, 8700, 600, PcpMessage.NewNonce());
        byte[]? reply = await GatewayLab.NatPmpExchangeAsync(_lab.Lan1, GatewayLab.GatewayLan, map);
        Assert.NotNull(reply);
        Assert.Equal(8, reply.Length);
        Assert.Equal([0, 128, 0, 1], reply[..4]); // read as PCP, octet 3 is UNSUPP_VERSION too
        Assert.DoesNotContain("8700", await _lab.KernelTableAsync(), StringComparison.Ordinal);

        Assert.Equal(8700, (await _lab.NatPmpcAsync(_lab.Lan1, 8700, 8700, "tcp", 600)).PublicPort);

        using Socket v6 = GatewayLab.Udp(_lab.Lan1, address: GatewayLab.Lan1Address6);
        Assert.Null(await PcpMessage.AskAsync(v6, new IPEndPoint(GatewayLab.GatewayLan6, 5351),
            PcpMessage.Map(GatewayLab.Lan1Address6, PcpMessage.Tcp, 8701, 8701, 600, PcpMessage.NewNonce()), TimeSpan.FromMilliseconds(500)));
    }
}
