using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>A lab whose daemon does not preserve mapped hosts' ports on the way out.</summary>
public sealed class NoPreserveLab : GatewayLab
{
    public NoPreserveLab()
    {
        ConfigJson = """{ "firewall": { "preservePorts": false } }""";
    }
}
