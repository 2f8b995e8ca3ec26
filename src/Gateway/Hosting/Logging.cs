using Serilog;
using Serilog.Events;

namespace PortMapper.Gateway.Hosting;

/// <summary>Serilog configured in code (configuration binding does not survive NativeAOT).</summary>
public static class Logging
{
    public static Serilog.Core.Logger Create(string level)
    {
        LogEventLevel minimum = level.ToLowerInvariant() switch
        {
            "verbose" => LogEventLevel.Verbose,
            "debug" => LogEventLevel.Debug,
            "warning" => LogEventLevel.Warning,
            "error" => LogEventLevel.Error,
            "fatal" => LogEventLevel.Fatal,
            _ => LogEventLevel.Information,
        };
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Is(minimum)
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning);

        // Under systemd stdout goes to the journal, which stamps the time itself and reads a priority prefix.
        bool journal = Environment.GetEnvironmentVariable("JOURNAL_STREAM") is not null;
        return journal
            ? configuration.Enrich.With<SyslogLevelEnricher>()
                .WriteTo.Console(outputTemplate: "{SyslogLevel}{Message:lj}{NewLine}{Exception}", formatProvider: null)
                .CreateLogger()
            : configuration
                .WriteTo.Console(outputTemplate: "{Timestamp:HH:mm:ss.fff} {Level:u3} {Message:lj}{NewLine}{Exception}", formatProvider: null)
                .CreateLogger();
    }
}
