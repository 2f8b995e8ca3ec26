using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>A lab whose daemon has hairpin turned off.</summary>
public sealed class NoHairpinLab : GatewayLab
{
    public NoHairpinLab()
    {
        ConfigJson = """{ "firewall": { "hairpin": false } }""";
    }
}
