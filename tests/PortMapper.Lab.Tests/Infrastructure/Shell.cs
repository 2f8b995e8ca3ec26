using System.Diagnostics;

namespace PortMapper.Lab.Tests.Infrastructure;

internal static class Shell
{
    public static async Task<ProcessResult> RunAsync(string file, IEnumerable<string> args, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {file}");
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish");
        }

        return new ProcessResult(process.ExitCode, await output, await error);
    }

    public static Task<ProcessResult> InNamespaceAsync(string ns, params string[] command) =>
        RunAsync("ip", ["netns", "exec", ns, .. command]);

    public static async Task<ProcessResult> CheckedAsync(string ns, params string[] command)
    {
        ProcessResult result = await InNamespaceAsync(ns, command);
        return result.ExitCode == 0 ? result : throw new InvalidOperationException($"{string.Join(' ', command)} in {ns}: {result}");
    }
}
