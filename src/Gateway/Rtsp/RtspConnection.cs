namespace PortMapper.Gateway.Rtsp;

/// <summary>What is known of one control connection.</summary>
internal sealed class RtspConnection
{
    public RtspConnection(RtspConnectionKey key, uint clientSyn, DateTimeOffset now)
    {
        Key = key;
        FromClient.Start(clientSyn);
        LastRequest = now;
        LastPacket = now;
    }

    public RtspConnectionKey Key { get; }

    public RtspHalfStream FromClient { get; } = new();

    public RtspHalfStream FromServer { get; } = new();

    /// <summary>SETUP requests by CSeq, waiting for their answers.</summary>
    public Dictionary<int, RtspPendingSetup> PendingSetups { get; } = [];

    public List<RtspStream> Streams { get; } = [];

    /// <summary>A message would not parse: nothing on this connection is read any more (and so nothing more opens).</summary>
    public bool Broken { get; set; }

    /// <summary>The client has acknowledged the server's SYN+ACK: only then is the server's side read.</summary>
    public bool Established { get; set; }

    public TimeSpan SessionTimeout { get; set; } = RtspTrackerOptions.DefaultSessionTimeout;

    /// <summary>The client's last request: RTSP keeps a session alive by requests (§12.37).</summary>
    public DateTimeOffset LastRequest { get; set; }

    public DateTimeOffset LastPacket { get; set; }

    /// <summary>When the kernel's copies of this connection's ports were last given their full time.</summary>
    public DateTimeOffset Refreshed { get; set; }

    /// <summary>How long the kernel holds the ports without a refresh: two session timeouts, and at least a minute.</summary>
    public TimeSpan PortTimeout => SessionTimeout * 2 > TimeSpan.FromMinutes(1) ? SessionTimeout * 2 : TimeSpan.FromMinutes(1);

    public int PortCount => Streams.Sum(s => s.Ports.Count);

    public void Release()
    {
        FromClient.Release();
        FromServer.Release();
    }
}
