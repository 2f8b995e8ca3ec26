using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace PortMapper.Lab.Tests.Infrastructure;

/// <summary>The real portmapper process, running in the lab's gateway namespace.</summary>
internal sealed partial class Daemon : IDisposable
{
    private readonly StringBuilder _log = new();
    private readonly Lock _lock = new();
    private Process? _process;

    public Daemon(string ns, string stateDirectory, IReadOnlyList<string> extraArgs)
    {
        Namespace = ns;
        StateDirectory = stateDirectory;
        ExtraArgs = extraArgs;
    }

    public string Namespace { get; }

    public string StateDirectory { get; }

    public IReadOnlyList<string> ExtraArgs { get; }

    public string Log
    {
        get
        {
            lock (_lock)
            {
                return _log.ToString();
            }
        }
    }

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts the daemon and waits until every listener (NAT-PMP, PCP, UPnP) is up.</summary>
    public async Task StartAsync()
    {
        lock (_lock)
        {
            _log.Clear();
        }

        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in (string[])["netns", "exec", Namespace, Repository.DaemonPath, "run", "--state-dir", StateDirectory, "--log-level", "debug", .. ExtraArgs])
        {
            start.ArgumentList.Add(arg);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("cannot start the daemon");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await WaitForLogAsync("all listeners are up", TimeSpan.FromSeconds(20));
    }

    public async Task WaitForLogAsync(string text, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (!Log.Contains(text, StringComparison.Ordinal))
        {
            if (deadline.Elapsed > timeout || _process is { HasExited: true })
            {
                throw new TimeoutException($"daemon log has no '{text}':\n{Log}");
            }

            await Task.Delay(25);
        }
    }

    /// <summary>SIGHUP, as 'systemctl reload' sends it.</summary>
    public void Hangup()
    {
        if (_process is { HasExited: false } p)
        {
            _ = Kill(p.Id, 1);
        }
    }

    /// <summary>SIGTERM, as systemd stops it; waits for the exit.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } p)
        {
            _ = Kill(p.Id, 15);
            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>SIGKILL: no chance to flush or clean up.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } p)
        {
            _ = Kill(p.Id, 9);
            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    public int ExitCode => _process?.ExitCode ?? -1;

    public void Dispose()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill();
            p.WaitForExit(5000);
        }

        _process?.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lock)
        {
            _log.AppendLine(line);
        }
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
