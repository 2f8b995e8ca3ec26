using System.Net;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using PortMapper.Gateway.Configuration;
using PortMapper.Gateway.Engine;
using PortMapper.Gateway.Network;
using PortMapper.Gateway.Persistence;
using PortMapper.Gateway.Status;
using PortMapper.Gateway.Upnp;
using PortMapper.KernelBackend;
using PortMapper.Protocols.Upnp;

namespace PortMapper.Gateway.Tests.Upnp;

/// <summary>A started engine over the in-memory kernel, with the UPnP control in front of it.</summary>
internal sealed class UpnpControlFixture : IAsyncDisposable
{
    public static readonly IPAddress Host = IPAddress.Parse("192.168.77.10");
    public static readonly IPAddress OtherHost = IPAddress.Parse("192.168.77.11");
    public static readonly IPAddress Host6 = IPAddress.Parse("2001:db8:77::10");

    private readonly TempDirectory _dir = new();
    private readonly LeaseStore _store;

    private UpnpControlFixture(GatewaySettings settings)
    {
        var errors = new List<string>();
        Options = GatewayConfiguration.Resolve(settings with { StateDirectory = _dir.Path, Fsync = false }, new Inventory(), errors)!;
        Assert.Empty(errors);
        Kernel = new InMemoryFirewallBackend(Time);
        State = new GatewayState(Time);
        _store = new LeaseStore(_dir.Path, fsync: false);
        Engine = new MappingEngine(Options, _store, Kernel, State, new WanAddressSource(new Inventory(), Options), Time, NullLogger<MappingEngine>.Instance);
        Control = new UpnpControl(Options, Engine, State, Kernel, new UpnpDevices(Options, Time), Time, NullLogger<UpnpControl>.Instance);
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));

    public GatewayOptions Options { get; }

    public InMemoryFirewallBackend Kernel { get; }

    public GatewayState State { get; }

    public MappingEngine Engine { get; }

    public UpnpControl Control { get; }

    public LanInterface Lan => Options.LanInterfaces[0];

    public static async Task<UpnpControlFixture> StartAsync(GatewaySettings? settings = null)
    {
        var fixture = new UpnpControlFixture(settings ?? new GatewaySettings());
        await fixture.Engine.StartAsync(CancellationToken.None);
        return fixture;
    }

    /// <summary>Sends one action as a client would (the request body goes through the SOAP reader) and returns the wire answer.</summary>
    public async Task<string> CallAsync(ServiceDefinition service, string action, IPAddress? from, params (string Name, string Value)[] arguments)
    {
        var body = new StringBuilder();
        body.Append("<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>")
            .Append("<u:").Append(action).Append(" xmlns:u=\"").Append(service.ServiceType).Append("\">");
        foreach (var (name, value) in arguments)
        {
            body.Append('<').Append(name).Append('>').Append(SoapWriter.Escape(value)).Append("</").Append(name).Append('>');
        }

        body.Append("</u:").Append(action).Append("></s:Body></s:Envelope>");
        Assert.Equal(SoapRejection.None, SoapReader.TryRead(Encoding.UTF8.GetBytes(body.ToString()), out SoapCall? call));
        SoapResult result = await Control.ExecuteAsync(service, call!, new UpnpCaller(from ?? Host, Lan), CancellationToken.None);
        return result.Error is { } error ? SoapWriter.Fault(error) : SoapWriter.Response(call!.ServiceType, action, result.Outputs);
    }

    public async ValueTask DisposeAsync()
    {
        await Engine.StopAsync(CancellationToken.None);
        _store.Dispose();
        _dir.Dispose();
    }

    private sealed class Inventory : INetworkInventory
    {
        public IReadOnlyList<NetworkInterfaceInfo> Interfaces() =>
        [
            new("wan0", 2, true, false, [new(IPAddress.Parse("203.0.113.1"), 24)]),
            new("br-lan", 3, true, false, [new(IPAddress.Parse("192.168.77.1"), 24), new(IPAddress.Parse("2001:db8:77::1"), 64)]),
        ];

        public string? DefaultRouteInterface() => "wan0";
    }
}
