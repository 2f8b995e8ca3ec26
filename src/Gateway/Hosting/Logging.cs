using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace PortMapper.Gateway.Hosting;

/// <summary>Serilog configured in code (configuration binding does not survive NativeAOT).</summary>
public static class Logging
{
    /// <summary>The level switch of the logger made last; a configuration reload moves it.</summary>
    public static LoggingLevelSwitch Level { get; } = new();

    public static LogEventLevel Parse(string level) => level.ToLowerInvariant() switch
    {
        "verbose" => LogEventLevel.Verbose,
        "debug" => LogEventLevel.Debug,
        "warning" => LogEventLevel.Warning,
        "error" => LogEventLevel.Error,
        "fatal" => LogEventLevel.Fatal,
        _ => LogEventLevel.Information,
    };

    public static Serilog.Core.Logger Create(string level)
    {
        Level.MinimumLevel = Parse(level);
        var configuration = new LoggerConfiguration()
            .MinimumLevel.ControlledBy(Level)
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
