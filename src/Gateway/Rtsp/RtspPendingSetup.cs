using PortMapper.Protocols.Rtsp;

namespace PortMapper.Gateway.Rtsp;

/// <summary>A SETUP waiting for its answer: the stream URI, the transports offered, and the ports opened ahead of the answer.</summary>
internal sealed record RtspPendingSetup(string Uri, List<RtspTransportSpec> Offered, RtspStream? Opened);
