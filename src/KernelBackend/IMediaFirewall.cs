namespace PortMapper.KernelBackend;

/// <summary>
/// Media ports that protocol helpers open for the length of a session (RTSP). They are not leases: nothing of
/// them is journaled, and each kernel entry expires by itself unless it is opened again in time. A flow they
/// admitted goes on until it ends, even when its entry has expired.
/// </summary>
public interface IMediaFirewall
{
    /// <summary>Opens each port, or extends an open one, for <paramref name="timeout"/>; one kernel transaction.</summary>
    void OpenMedia(IReadOnlyCollection<MediaOpening> openings, TimeSpan timeout);

    /// <summary>Closes each port (absent ones are ignored); one kernel transaction.</summary>
    void CloseMedia(IReadOnlyCollection<MediaOpening> openings);

    /// <summary>The ports open now.</summary>
    int OpenMediaCount { get; }
}
