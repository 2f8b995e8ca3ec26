using System.Net;
using System.Net.Sockets;
using PortMapper.Gateway.Logging;
using PortMapper.Gateway.Status;
using PortMapper.Protocols.NatPmp;

namespace PortMapper.Gateway.NatPmp;

public sealed partial class NatPmpService
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

    private async Task AnnounceAsync(IReadOnlyList<LanSocket> sockets, GatewayStatus status, CancellationToken cancellationToken)
    {
        if (status.ExternalAddress is null)
        {
            return;
        }

        byte[] packet = new byte[NatPmpCodec.ExternalAddressResponseLength];
        TimeSpan interval = FirstAnnouncementInterval;
        try
        {
            for (int round = 1; round <= AnnouncementCount; round++)
            {
                uint epoch = GatewayState.EpochSeconds(status, _time.GetUtcNow());
                NatPmpCodec.TryWriteExternalAddressResponse(NatPmpResultCode.Success, epoch, status.ExternalAddress, packet, out _);
                foreach (LanSocket socket in sockets)
                {
                    try
                    {
                        socket.Socket.SendTo(packet, SocketFlags.None, s_allHosts);
                    }
                    catch (SocketException e)
                    {
                        Log.NatPmpSocketError(_logger, e, socket.Lan.Name);
                    }
                }

                Log.NatPmpAnnounced(_logger, status.ExternalAddress, round);
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
}
