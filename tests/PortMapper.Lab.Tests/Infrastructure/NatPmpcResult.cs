namespace PortMapper.Lab.Tests.Infrastructure;

internal sealed record NatPmpcResult(ProcessResult Process, int? PublicPort, int? Lifetime, long? Epoch);
