using System.Net;
using System.Text;
using System.Xml;
using Microsoft.Extensions.Primitives;
using PortMapper.Gateway.Leases;
using PortMapper.Gateway.Upnp;
using PortMapper.Protocols.Mapping;
using PortMapper.Protocols.Upnp;

namespace PortMapper.Fuzz;

/// <summary>SSDP, SOAP, the HTTP headers the UPnP server reads itself, and GENA.</summary>
internal static class UpnpTargets
{
    private static readonly (RootDevice Igd1, RootDevice Igd2) s_roots = RootDevice.Create(Guid.Parse("8d4fc59a-7c3e-4b7a-9d0c-4f6b3e1f2a10"));
    private static readonly SsdpIdentity s_identity = new("Linux/6.1 UPnP/1.1 PortMapper/1.0", 1800, 1, 1);
    private static readonly IPAddress s_gatewayLan = IPAddress.Parse("192.168.77.1");

    public static void Ssdp(byte[] input)
    {
        foreach (bool multicast in (ReadOnlySpan<bool>)[true, false])
        {
            if (SsdpCodec.TryDecodeSearch(input, multicast, out SsdpSearch? search) != SsdpDecodeError.None)
            {
                continue;
            }

            InvariantException.Check(search is not null, "a decoded search");
            InvariantException.Check(search!.Mx is null || search.Mx is >= 0 and <= SsdpCodec.MaxMx, $"MX {search.Mx} outside 0-{SsdpCodec.MaxMx}");
            List<SsdpTarget> targets = SsdpCodec.Match(search.SearchTarget, s_roots.Igd1, s_roots.Igd2);
            InvariantException.Check(targets.Count <= 16, $"{targets.Count} answers to one search");
            foreach (SsdpTarget target in targets)
            {
                string answer = SsdpCodec.Response(target, "http://192.168.77.1:5000/rootDesc.xml", s_identity, FuzzGateway.Now);
                // What the searcher sent is echoed in ST and USN only; it can never add a header or end the head early.
                InvariantException.Check(answer.Split("\r\n").Length == 12 && answer.EndsWith("\r\n\r\n", StringComparison.Ordinal), "an SSDP answer with injected lines");
                InvariantException.Check(Encoding.UTF8.GetByteCount(answer) <= SsdpCodec.MaxDatagram, "an SSDP answer larger than a datagram");
            }
        }
    }

    public static void Soap(byte[] input)
    {
        var gateway = new FuzzGateway();
        IUpnpContext context = gateway.Offline.Upnp;
        if (SoapReader.TryRead(input, out SoapCall? call) != SoapRejection.None)
        {
            return;
        }

        ServiceDefinition? service = ServiceDefinition.All.FirstOrDefault(s => UpnpHttpService.Implements(s, call!.ServiceType));
        if (service is null)
        {
            return;
        }

        UpnpStep step = UpnpHandler.Handle(service, call!, FuzzGateway.Client4, context);
        SoapResult result = step.Answer ?? step.Complete([.. step.Commands.Select(c => gateway.Execute(c, FuzzGateway.Client4))], context);
        string xml = result.Error is { } error ? SoapWriter.Fault(error) : SoapWriter.Response(call!.ServiceType, call.ActionName, result.Outputs);

        // Whatever came in (names, descriptions, addresses), what goes out is well-formed XML.
        using var reader = XmlReader.Create(new StringReader(xml), new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit });
        while (reader.Read())
        {
        }
    }

    /// <summary>Input: "Host\nSOAPACTION\nContent-Type" (missing lines are missing headers).</summary>
    public static void HttpHeaders(byte[] input)
    {
        string[] lines = Encoding.UTF8.GetString(input).Split('\n');
        string? Line(int i) => i < lines.Length ? lines[i] : null;

        foreach (IPAddress local in (ReadOnlySpan<IPAddress>)[s_gatewayLan, IPAddress.Parse("fd00:77::1"), IPAddress.Parse("::ffff:192.168.77.1")])
        {
            if (UpnpHttpService.NamesGateway(Line(0) is { } host ? new StringValues(host) : StringValues.Empty, local, 5000))
            {
                // Accepted only when it names this very address (DNS rebinding), as a literal, with port 5000 if any.
                IPAddress target = local.IsIPv4MappedToIPv6 ? local.MapToIPv4() : local;
                string named = Line(0)!.Trim();
                string literal = named.StartsWith('[') ? named[1..named.IndexOf(']', StringComparison.Ordinal)] : named.Split(':')[0];
                InvariantException.Check(IPAddress.TryParse(literal, out IPAddress? parsed) && parsed.Equals(target), $"Host '{named}' accepted for {local}");
            }
        }

        if (UpnpHttpService.TryParseSoapAction(Line(1) is { } action ? new StringValues(action) : StringValues.Empty, out string serviceType, out string actionName))
        {
            InvariantException.Check(serviceType.Length > 0 && actionName.Length > 0 && !serviceType.Contains('#', StringComparison.Ordinal), "SOAPACTION split");
            _ = ServiceDefinition.All.Count(s => UpnpHttpService.Implements(s, serviceType));
        }

        _ = UpnpHttpService.IsXml(Line(2));
    }

    /// <summary>Input: "CALLBACK\nTIMEOUT\nproperty value".</summary>
    public static void Gena(byte[] input)
    {
        string[] lines = Encoding.UTF8.GetString(input).Split('\n');
        foreach (IPAddress subscriber in (ReadOnlySpan<IPAddress>)[FuzzGateway.Client4, FuzzGateway.Client6])
        {
            int timeout = GenaCodec.ParseTimeout(lines.Length > 1 ? lines[1] : null);
            InvariantException.Check(timeout is >= GenaCodec.MinTimeoutSeconds and <= GenaCodec.MaxTimeoutSeconds, $"timeout {timeout}");
            if (!GenaCodec.TryParseCallback(lines[0], subscriber, out Uri? callback))
            {
                continue;
            }

            // CallStranger: the gateway only ever calls back the subscriber itself, over plain HTTP.
            InvariantException.Check(callback is not null && callback.Scheme == "http" && IPAddress.TryParse(callback.IdnHost, out IPAddress? host) && host.Equals(subscriber), $"callback {callback} for {subscriber}");
            string body = GenaCodec.PropertySet([new("ExternalIPAddress", lines.Length > 2 ? lines[2] : string.Empty)]);
            using (var reader = XmlReader.Create(new StringReader(body)))
            {
                while (reader.Read())
                {
                }
            }

            byte[] notify = GenaCodec.Notify(callback!, "uuid:3e4f0000-0000-4000-8000-000000000001", 0, body);
            string head = Encoding.ASCII.GetString(notify, 0, Math.Min(notify.Length, 2048));
            InvariantException.Check(head.StartsWith("NOTIFY ", StringComparison.Ordinal) && head.Contains("\r\n\r\n", StringComparison.Ordinal), "NOTIFY head");
            string[] headLines = head[..head.IndexOf("\r\n\r\n", StringComparison.Ordinal)].Split("\r\n");
            InvariantException.Check(headLines.Length == 9 && headLines[0].Split(' ').Length == 3, "a NOTIFY head with injected lines or a split request line");
        }
    }
}
