using System.Net;
using PortMapper.Protocols.Mapping;
using PortMapper.Protocols.Upnp;

namespace PortMapper.Protocols.Tests;

/// <summary>The pure UPnP handler: a SOAP call in, commands or an answer out; no engine, no sockets.</summary>
public class UpnpHandlerTests
{
    private static readonly IPAddress s_caller = IPAddress.Parse("192.168.77.10");
    private static readonly IPAddress s_other = IPAddress.Parse("192.168.77.11");

    private sealed class Gateway : IUpnpContext
    {
        public List<IMappingView> Mappings { get; } = [];

        public DateTimeOffset Now { get; } = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);

        public IPAddress? ExternalAddress { get; set; } = IPAddress.Parse("203.0.113.1");

        public uint ConnectionUptime => 42;

        public bool SecureMode { get; set; } = true;

        public bool AllowPermanent { get; set; } = true;

        public bool PinholesAllowed => true;

        public string DefaultConnectionService => "uuid:x:WANConnectionDevice:1,urn:upnp-org:serviceId:WANIPConn1";

        public string WanLinkStatus => "Up";

        public uint WanBitRate => 1_000_000_000;

        public uint WanCounter(string name) => 7;

        public uint OutboundTimeout(ushort protocolNumber) => protocolNumber == 6 ? 7440u : 180u;

        public bool IsLanClient(IPAddress address) => address.ToString().StartsWith("192.168.77.", StringComparison.Ordinal) && !address.Equals(IPAddress.Parse("192.168.77.1"));

        public IMappingView? FindByExternal(MappingProtocol protocol, ushort externalPort) => Mappings.FirstOrDefault(m => m.Protocol == protocol && m.ExternalPort == externalPort);

        public IReadOnlyList<IMappingView> PortMappings() => Mappings;

        public IMappingView? FindPinhole(ushort uniqueId) => null;

        public IMappingView? FindPinholeOf(MappingProtocol protocol, IPAddress internalAddress, ushort internalPort) => null;

        public ulong PinholePackets(IMappingView pinhole) => 0;
    }

    private sealed record Held(ushort ExternalPort, IPAddress Client) : IMappingView
    {
        public long Id => 1;

        public MappingProtocol Protocol => MappingProtocol.Tcp;

        public IPAddress InternalAddress => Client;

        public ushort InternalPort => 80;

        public IPEndPoint? RemotePeer => null;

        public MappingOrigin Origin => MappingOrigin.Upnp;

        public string Description => "web";

        public byte[]? Nonce => null;

        public IReadOnlyList<MappingFilter> FilterList => [];

        public DateTimeOffset? Expires => null;

        public bool IsPinhole => false;

        public uint SecondsLeft(DateTimeOffset now) => uint.MaxValue;
    }

    private static SoapCall Add(string external = "8080", string client = "192.168.77.10", string lease = "3600", string remote = "") => new(
        ServiceDefinition.WanIPConnection1.ServiceType, "AddPortMapping", new Dictionary<string, string>
        {
            ["NewRemoteHost"] = remote, ["NewExternalPort"] = external, ["NewProtocol"] = "TCP", ["NewInternalPort"] = "80",
            ["NewInternalClient"] = client, ["NewEnabled"] = "1", ["NewPortMappingDescription"] = "web", ["NewLeaseDuration"] = lease,
        });

    [Fact]
    public void AddPortMapping_IsOneCommand_InsistingOnThePort_WithTheRemoteHostAsFilter()
    {
        UpnpStep step = UpnpHandler.Handle(ServiceDefinition.WanIPConnection1, Add(remote: "198.51.100.9"), s_caller, new Gateway());
        Assert.Null(step.Answer);
        MappingCommand command = Assert.Single(step.Commands);
        Assert.Equal((MappingCommandKind.Map, MappingOrigin.Upnp, (ushort)8080, (ushort)80, 3600u, true), (command.Kind, command.Origin, command.SuggestedExternalPort, command.InternalPort, command.RequestedLifetimeSeconds, command.PreferFailure));
        Assert.Equal([new MappingFilter(IPNetwork.Parse("198.51.100.9/32"), 0)], command.Filters);
        Assert.False(command.Permanent);
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public void AddPortMapping_Igd1LeaseZero_PermanentOnlyWhenAllowed(bool allowed, bool permanent)
    {
        UpnpStep step = UpnpHandler.Handle(ServiceDefinition.WanIPConnection1, Add(lease: "0"), s_caller, new Gateway { AllowPermanent = allowed });
        Assert.Equal((permanent, 604800u), (step.Commands[0].Permanent, step.Commands[0].RequestedLifetimeSeconds));
    }

    [Theory]
    [InlineData(MappingStatus.Granted, null)]
    [InlineData(MappingStatus.NotAuthorized, 606)]
    [InlineData(MappingStatus.QuotaExceeded, 728)]
    [InlineData(MappingStatus.CannotProvideExternal, 718)]
    [InlineData(MappingStatus.ConflictWithOtherMechanism, 729)]
    [InlineData(MappingStatus.KernelRefused, 501)]
    public void AddPortMapping_EachVerdict_ItsUpnpError(MappingStatus status, int? error)
    {
        var gateway = new Gateway();
        UpnpStep step = UpnpHandler.Handle(ServiceDefinition.WanIPConnection1, Add(), s_caller, gateway);
        SoapResult result = step.Complete([new MappingOutcome(status, 8080, 3600)], gateway);
        Assert.Equal(error, (int?)result.Error?.Code);
    }

    [Fact]
    public void BadArguments_AreAnsweredWithoutACommand_AnotherHostGoesToAdmission()
    {
        var gateway = new Gateway();
        Assert.Equal(402, (int?)UpnpHandler.Handle(ServiceDefinition.WanIPConnection1, Add(external: "x"), s_caller, gateway).Answer?.Error?.Code);
        Assert.Equal(606, (int?)UpnpHandler.Handle(ServiceDefinition.WanIPConnection1, Add(client: "10.1.1.1"), s_caller, gateway).Answer?.Error?.Code);
        Assert.Equal(402, (int?)UpnpHandler.Handle(ServiceDefinition.WanIPConnection1, Add(client: "224.0.0.1"), s_caller, gateway).Answer?.Error?.Code);
        Assert.Equal(716, (int?)UpnpHandler.Handle(ServiceDefinition.WanIPConnection1, Add(external: "0"), s_caller, gateway).Answer?.Error?.Code);

        // Another LAN host as the internal client is the admission stage's to judge (secure mode): a command, whose
        // refusal is answered 606.
        UpnpStep forOther = UpnpHandler.Handle(ServiceDefinition.WanIPConnection1, Add(client: "192.168.77.11"), s_caller, gateway);
        Assert.Equal((s_caller, s_other), (forOther.Commands[0].Client, forOther.Commands[0].InternalAddress));
        Assert.Equal(606, (int?)forOther.Complete([MappingOutcome.Denied(MappingStatus.NotAuthorized)], gateway).Error?.Code);
    }

    [Fact]
    public void DeletePortMapping_OwnIsACommand_AnothersIsRefusedInSecureMode()
    {
        var gateway = new Gateway();
        gateway.Mappings.Add(new Held(8080, s_caller));
        gateway.Mappings.Add(new Held(9090, s_other));
        SoapCall Delete(string port) => new(ServiceDefinition.WanIPConnection1.ServiceType, "DeletePortMapping",
            new Dictionary<string, string> { ["NewRemoteHost"] = "", ["NewExternalPort"] = port, ["NewProtocol"] = "TCP" });

        UpnpStep own = UpnpHandler.Handle(ServiceDefinition.WanIPConnection1, Delete("8080"), s_caller, gateway);
        Assert.Equal((MappingCommandKind.Delete, (ushort)8080), (Assert.Single(own.Commands).Kind, own.Commands[0].SuggestedExternalPort));
        Assert.Equal(606, (int?)UpnpHandler.Handle(ServiceDefinition.WanIPConnection1, Delete("9090"), s_caller, gateway).Answer?.Error?.Code);
        Assert.Equal(714, (int?)UpnpHandler.Handle(ServiceDefinition.WanIPConnection1, Delete("7070"), s_caller, gateway).Answer?.Error?.Code);
    }

    [Fact]
    public void Reads_AreAnsweredFromTheContext()
    {
        var gateway = new Gateway();
        SoapCall external = new(ServiceDefinition.WanIPConnection1.ServiceType, "GetExternalIPAddress", new Dictionary<string, string>());
        Assert.Equal("203.0.113.1", UpnpHandler.Handle(ServiceDefinition.WanIPConnection1, external, s_caller, gateway).Answer!.Outputs[0].Value);
        gateway.ExternalAddress = null;
        Assert.Equal(string.Empty, UpnpHandler.Handle(ServiceDefinition.WanIPConnection1, external, s_caller, gateway).Answer!.Outputs[0].Value);

        SoapCall counter = new(ServiceDefinition.WanCommonInterfaceConfig1.ServiceType, "GetTotalBytesSent", new Dictionary<string, string>());
        Assert.Equal("7", UpnpHandler.Handle(ServiceDefinition.WanCommonInterfaceConfig1, counter, s_caller, gateway).Answer!.Outputs[0].Value);
    }
}
