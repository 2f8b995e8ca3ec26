using Serilog.Core;
using Serilog.Events;

namespace PortMapper.Gateway.Hosting;

/// <summary>Adds the sd-daemon priority prefix ("&lt;3&gt;" for errors ...) that journald reads from stdout.</summary>
internal sealed class SyslogLevelEnricher : ILogEventEnricher
{
    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        string prefix = logEvent.Level switch
        {
            LogEventLevel.Fatal => "<2>",
            LogEventLevel.Error => "<3>",
            LogEventLevel.Warning => "<4>",
            LogEventLevel.Information => "<6>",
            _ => "<7>",
        };
        logEvent.AddPropertyIfAbsent(propertyFactory.CreateProperty("SyslogLevel", prefix));
    }
}
