using System.Threading.Channels;
using PortMapper.Protocols.NatPmp;

namespace PortMapper.Gateway.Status;

/// <summary>
/// The current <see cref="GatewayStatus"/>, readable from any thread, written only by the engine, plus a
/// signal that fires whenever the external address is (re)established and should be announced.
/// </summary>
public sealed class GatewayState
{
    private readonly Channel<GatewayStatus> _announcements = Channel.CreateBounded<GatewayStatus>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

    private volatile GatewayStatus _current;

    public GatewayState(TimeProvider time)
    {
        DateTimeOffset now = time.GetUtcNow();
        _current = new GatewayStatus(null, null, now, 0, false, null);
    }

    public GatewayStatus Current => _current;

    public ChannelReader<GatewayStatus> Announcements => _announcements.Reader;

    public void Update(GatewayStatus status) => _current = status;

    public void Announce(GatewayStatus status) => _announcements.Writer.TryWrite(status);

    /// <summary>Seconds since the start of the epoch (RFC 6886 §3.6), saturating rather than wrapping.</summary>
    public static uint EpochSeconds(GatewayStatus status, DateTimeOffset now) =>
        (uint)Math.Clamp(Math.Floor((now - status.EpochStart).TotalSeconds), 0, uint.MaxValue);

    public NatPmpContext NatPmpContext(DateTimeOffset now)
    {
        GatewayStatus status = _current;
        return new NatPmpContext(status.AdvertisedAddress, EpochSeconds(status, now));
    }
}
