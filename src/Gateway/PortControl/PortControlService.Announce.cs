using System.Net;
using System.Net.Sockets;
using PortMapper.Gateway.Logging;
using PortMapper.Gateway.Status;
using PortMapper.Protocols.NatPmp;
using PortMapper.Protocols.Pcp;

namespace PortMapper.Gateway.PortControl;

public sealed partial class PortControlService
{
    /// <summary>RFC 6886 §3.2.1: ten announcements, the first interval 250 ms, each interval twice the last.</summary>
    public const int AnnouncementCount = 10;

    public static readonly TimeSpan FirstAnnouncementInterval = TimeSpan.FromMilliseconds(250);

    private static readonly IPEndPoint s_allHosts = new(IPAddress.Parse("224.0.0.1"), NatPmpCodec.ClientPort);

    /// <summary>Runs one announcement sequence per trigger; a new trigger cuts the running sequence short.</summary>
    private async Task AnnounceLoopAsync(IReadOnlyList<LanSocket> sockets, CancellationToken stoppingToken)
    {
        CancellationTokenSource? current = null;
        Task running = Task.CompletedTask;
        try
        {
            await foreach (GatewayStatus status in _state.Announcements.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                if (current is not null)
                {
                    await current.CancelAsync().ConfigureAwait(false);
                    await running.ConfigureAwait(false);
                    current.Dispose();
                }

                current = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                running = AnnounceAsync(sockets, status, current.Token);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await running.ConfigureAwait(false);
        current?.Dispose();
    }

    /// <summary>
    /// Each round: NAT-PMP's external-address response to 224.0.0.1:5350, and PCP's unsolicited ANNOUNCE
    /// (RFC 6887 §14.1.3) to 224.0.0.1:5350 and [ff02::1]:5350, on every LAN interface.
    /// </summary>
    private async Task AnnounceAsync(IReadOnlyList<LanSocket> sockets, GatewayStatus status, CancellationToken cancellationToken)
    {
        if (status.AdvertisedAddress is not { } advertised)
        {
            return;
        }

        byte[] natPmp = new byte[NatPmpCodec.ExternalAddressResponseLength];
        byte[] pcp = new byte[PcpCodec.HeaderLength];
        TimeSpan interval = FirstAnnouncementInterval;
        try
        {
            for (int round = 1; round <= AnnouncementCount; round++)
            {
                uint epoch = GatewayState.EpochSeconds(status, _time.GetUtcNow());
                NatPmpCodec.TryWriteExternalAddressResponse(NatPmpResultCode.Success, epoch, advertised, natPmp, out _);
                PcpCodec.TryWriteResponse((byte)PcpOpcode.Announce, PcpResultCode.Success, 0, epoch, [], pcp, out _);
                foreach (LanSocket socket in sockets)
                {
                    if (socket.IsIPv6)
                    {
                        Multicast(socket, pcp, new IPEndPoint(IPAddress.Parse("ff02::1%" + socket.Lan.Index), NatPmpCodec.ClientPort));
                        continue;
                    }

                    if (_options.Settings.NatPmpEnabled)
                    {
                        Multicast(socket, natPmp, s_allHosts);
                    }

                    if (_options.Settings.PcpEnabled)
                    {
                        Multicast(socket, pcp, s_allHosts);
                    }
                }

                Log.Announced(_logger, advertised, round);
                if (round < AnnouncementCount)
                {
                    await Task.Delay(interval, _time, cancellationToken).ConfigureAwait(false);
                    interval *= 2;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private void Multicast(LanSocket socket, byte[] packet, IPEndPoint group) => Send(socket, packet, group);
}
