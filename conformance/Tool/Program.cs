using System.Runtime.InteropServices;

namespace PortMapper.Conformance.Tool;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args is ["wan-agent", ..])
        {
            return await WanAgent.RunAsync(args[1..]);
        }

        if (args is ["list"])
        {
            foreach (CaseDefinition definition in Runner.AllCases())
            {
                Console.WriteLine($"{definition.Suite,-10} {definition.Id,-42} {definition.Section}: {definition.Title}");
            }

            return 0;
        }

        if (args is ["--help"] or ["-h"] or [])
        {
            Console.WriteLine(RunOptions.Usage);
            return args.Length == 0 ? 2 : 0;
        }

        RunOptions? options = RunOptions.Parse(args, Console.Error);
        if (options is null)
        {
            return 2;
        }

        // Ctrl-C and SIGTERM stop starting new cases; what the suite made is still undone before it exits.
        using var stop = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });

        (List<CaseResult> results, List<string> notUndone) = await Runner.RunAsync(options, Console.Out, stop.Token);
        Console.CancelKeyPress -= onCancel;

        Reports.Table(Console.Out, options.Gateway.ToString(), results, notUndone);
        if (options.ReportPath is { } report)
        {
            Reports.Json(report, options.Gateway.ToString(), results, notUndone);
        }

        if (options.JUnitPath is { } junit)
        {
            Reports.JUnit(junit, options.Gateway.ToString(), results);
        }

        return results.Any(r => r.Outcome == Outcome.Fail) || notUndone.Count > 0 ? 1 : stop.IsCancellationRequested ? 130 : 0;
    }
}
