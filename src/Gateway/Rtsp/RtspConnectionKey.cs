using System.Net;

namespace PortMapper.Gateway.Rtsp;

/// <summary>An RTSP control connection: the LAN client's end and the server's.</summary>
public readonly record struct RtspConnectionKey(IPAddress Client, ushort ClientPort, IPAddress Server, ushort ServerPort);
