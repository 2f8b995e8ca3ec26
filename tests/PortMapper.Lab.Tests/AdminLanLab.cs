using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>A lab whose daemon serves the admin endpoint on its LAN address, so the page is advertised with mDNS.</summary>
public sealed class AdminLanLab : GatewayLab
{
    public AdminLanLab()
    {
        ConfigJson = """{ "admin": { "listen": "192.168.77.1:8470" } }""";
    }
}
