using OrleansCrm.Telemetry;
using Serilog.Context;

namespace OrleansCrm.Silo.Hosting;

/// <summary>
/// On every grain call that carries a correlation id (one a gateway request started, however many grains it passed
/// through), the grain's log lines carry it too, as <see cref="Correlation.LogProperty"/>.
/// </summary>
public sealed class CorrelationCallFilter : IIncomingGrainCallFilter
{
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        if (Correlation.Current is not { } id)
        {
            await context.Invoke();
            return;
        }

        using (LogContext.PushProperty(Correlation.LogProperty, id))
        {
            await context.Invoke();
        }
    }
}
