using PortMapper.KernelBackend;

namespace PortMapper.Gateway.Rtsp;

/// <summary>One SETUP's media: the session and stream URI it was set up for, and the ports opened for it.</summary>
internal sealed record RtspStream(string? Session, string Uri, IReadOnlyList<MediaOpening> Ports);
