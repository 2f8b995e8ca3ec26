namespace PortMapper.Conformance.Tool;

internal enum Outcome
{
    Pass,
    Fail,
    Skip,
}

/// <summary>One case of the suite: a stable id, the section of the RFC or specification it checks, and its body.</summary>
internal sealed record CaseDefinition(string Id, string Suite, string Section, string Title, Func<CaseContext, Task> Body);

/// <summary>What one case came to. <see cref="Detail"/> is empty on a pass.</summary>
internal sealed record CaseResult(CaseDefinition Case, Outcome Outcome, string Expected, string Got, TimeSpan Duration);

/// <summary>Thrown by a case that found the gateway not doing what the standard says.</summary>
internal sealed class CaseFailedException(string expected, string got) : Exception($"expected {expected}; got {got}")
{
    public string Expected { get; } = expected;

    public string Got { get; } = got;
}

/// <summary>Thrown by a case that cannot run here (with why).</summary>
internal sealed class CaseSkippedException(string reason) : Exception(reason);

/// <summary>What a case may use: the run's options, the gateway's endpoints, and the undo list.</summary>
internal sealed class CaseContext(RunOptions options, GatewayProbe gateway, GatewayProbe? gateway6, CancellationToken cancellation)
{
    /// <summary>The gateway over IPv6 (--gateway6); a case that needs it SKIPs without.</summary>
    public GatewayProbe Gateway6 => gateway6 ?? throw Skip("needs the gateway's IPv6 LAN address (--gateway6)");

    public RunOptions Options { get; } = options;

    public GatewayProbe Gateway { get; } = gateway;

    public CancellationToken Cancellation { get; } = cancellation;

    /// <summary>Fails the case unless <paramref name="condition"/> holds.</summary>
    public static void Expect(bool condition, string expected, Func<string> got)
    {
        if (!condition)
        {
            throw new CaseFailedException(expected, got());
        }
    }

    public static void Expect(bool condition, string expected, string got) => Expect(condition, expected, () => got);

    public static CaseSkippedException Skip(string reason) => new(reason);
}
