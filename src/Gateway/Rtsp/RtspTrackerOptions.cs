using System.Net;

namespace PortMapper.Gateway.Rtsp;

/// <param name="MayOpen">Whether the client may receive on this port (policy, reserved ports).</param>
/// <param name="MaxConnections">Control connections followed at once; more are not followed.</param>
/// <param name="MaxConnectionsPerClient">Of those, from one LAN address.</param>
/// <param name="MaxPortsPerConnection">Media ports one control connection may hold open (8 streams of RTP and RTCP).</param>
public sealed record RtspTrackerOptions(
    Func<IPAddress, ushort, bool> MayOpen,
    int MaxConnections = 4096,
    int MaxConnectionsPerClient = 256,
    int MaxPortsPerConnection = 16)
{
    /// <summary>RFC 2326 §12.37: a session without a timeout parameter times out after 60 s.</summary>
    public static readonly TimeSpan DefaultSessionTimeout = TimeSpan.FromSeconds(60);

    public static readonly TimeSpan MinSessionTimeout = TimeSpan.FromSeconds(10);

    public static readonly TimeSpan MaxSessionTimeout = TimeSpan.FromHours(1);

    /// <summary>A connection that has opened nothing is forgotten after this long without a packet.</summary>
    public static readonly TimeSpan IdleConnection = TimeSpan.FromMinutes(5);

    /// <summary>SETUPs waiting for their answer on one connection.</summary>
    public const int MaxPendingSetups = 8;
}
