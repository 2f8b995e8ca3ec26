namespace PortMapper.Gateway.Rtsp;

public enum MediaChangeKind
{
    /// <summary>A port newly opened: flows the server started before it was open are stale and must end.</summary>
    Open,

    /// <summary>An open port whose time was extended (the session is alive).</summary>
    Refresh,

    /// <summary>A port closed: TEARDOWN, the control connection's end, or its session timed out.</summary>
    Close,
}
