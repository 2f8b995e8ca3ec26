using System.Diagnostics;

namespace PortMapper.Conformance.Tool;

/// <summary>Runs the chosen suites one case at a time, each bounded in time, then undoes what they made.</summary>
internal static class Runner
{
    public static IEnumerable<CaseDefinition> AllCases() =>
        [.. NatPmpSuite.Cases(), .. PcpSuite.Cases(), .. UpnpSuite.Cases(), .. SecuritySuite.Cases(), .. DataplaneSuite.Cases()];

    public static async Task<(List<CaseResult> Results, List<string> NotUndone)> RunAsync(RunOptions options, TextWriter progress, CancellationToken cancellation)
    {
        var gateway = new GatewayProbe(options.Gateway);
        GatewayProbe? gateway6 = options.Gateway6 is { } address6 ? new GatewayProbe(address6) : null;
        var results = new List<CaseResult>();
        List<string> notUndone;
        try
        {
            foreach (CaseDefinition definition in AllCases().Where(d => options.Suites.Contains(d.Suite)
                && (options.CasePrefixes.Count == 0 || options.CasePrefixes.Any(p => d.Id.StartsWith(p, StringComparison.Ordinal)))))
            {
                if (cancellation.IsCancellationRequested)
                {
                    results.Add(new CaseResult(definition, Outcome.Skip, string.Empty, "interrupted", TimeSpan.Zero));
                    continue;
                }

                using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
                bounded.CancelAfter(options.Timeout);
                var context = new CaseContext(options, gateway, gateway6, bounded.Token);
                var clock = Stopwatch.StartNew();
                CaseResult result;
                try
                {
                    await definition.Body(context).WaitAsync(options.Timeout, cancellation);
                    result = new CaseResult(definition, Outcome.Pass, string.Empty, string.Empty, clock.Elapsed);
                }
                catch (CaseSkippedException skip)
                {
                    result = new CaseResult(definition, Outcome.Skip, string.Empty, skip.Message, clock.Elapsed);
                }
                catch (CaseFailedException fail)
                {
                    result = new CaseResult(definition, Outcome.Fail, fail.Expected, fail.Got, clock.Elapsed);
                }
                catch (TimeoutException)
                {
                    result = new CaseResult(definition, Outcome.Fail, $"an end within {options.Timeout.TotalSeconds:0} s", "the case timed out", clock.Elapsed);
                }
                catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
                {
                    result = new CaseResult(definition, Outcome.Skip, string.Empty, "interrupted", clock.Elapsed);
                }
                catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or OperationCanceledException or InvalidOperationException or FormatException or ArgumentException)
                {
                    result = new CaseResult(definition, Outcome.Fail, "a well-formed exchange", $"{e.GetType().Name}: {e.Message}", clock.Elapsed);
                }

                results.Add(result);
                if (options.Verbose)
                {
                    progress.WriteLine($"{result.Outcome.ToString().ToUpperInvariant(),-4} {definition.Id} ({result.Duration.TotalMilliseconds:0} ms){(result.Got.Length > 0 ? ": " + result.Got : string.Empty)}");
                }
            }
        }
        finally
        {
            // Runs on Ctrl-C too (the token only stops new cases): nothing the suite made stays on the gateway.
            notUndone = await gateway.CleanupAsync();
            if (gateway6 is not null)
            {
                notUndone.AddRange(await gateway6.CleanupAsync());
            }

            if (gateway.Helper is { IsCompletedSuccessfully: true, Result: { } helper })
            {
                await helper.DisposeAsync();
            }
        }

        return (results, notUndone);
    }
}
