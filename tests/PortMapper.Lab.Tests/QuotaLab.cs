using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>A lab whose daemon allows each client 3 leases, and a request rate high enough for floods to reach the decoder.</summary>
public sealed class QuotaLab : GatewayLab
{
    public QuotaLab()
    {
        ConfigJson = """{ "maxLeasesPerClient": 3, "rateLimit": { "perSecond": 100000, "burst": 100000 } }""";
    }
}
