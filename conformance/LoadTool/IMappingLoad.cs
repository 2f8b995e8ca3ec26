namespace PortMapper.Conformance.LoadTool;

/// <summary>A load generator that maps new ports and deletes them again, measuring each request.</summary>
internal interface IMappingLoad
{
    int Mapped { get; }

    int Errors { get; }

    /// <summary>Requests that got no answer at all (UDP); 0 where the transport cannot lose them.</summary>
    int Lost { get; }

    Task<(double Seconds, List<double> Latencies)> MapAsync(int count, uint lifetime);

    Task DeleteLastAsync(int count);
}
