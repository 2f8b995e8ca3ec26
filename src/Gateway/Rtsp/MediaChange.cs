using PortMapper.KernelBackend;

namespace PortMapper.Gateway.Rtsp;

/// <param name="Timeout">Open and Refresh: how long the kernel holds the port if nothing extends it.</param>
public readonly record struct MediaChange(MediaChangeKind Kind, MediaOpening Opening, TimeSpan Timeout);
