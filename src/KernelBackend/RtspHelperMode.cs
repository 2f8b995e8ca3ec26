namespace PortMapper.KernelBackend;

/// <summary>How RTSP media gets through the NAT.</summary>
public enum RtspHelperMode
{
    /// <summary>Not at all: media over UDP needs the client to punch its own hole.</summary>
    Off,

    /// <summary>The kernel's own <c>rtsp</c> conntrack helper (an out-of-tree module), assigned to the control connections.</summary>
    Kernel,

    /// <summary>The daemon reads copies of the control connections (NFLOG) and opens the announced media ports as map elements.</summary>
    Observer,
}
