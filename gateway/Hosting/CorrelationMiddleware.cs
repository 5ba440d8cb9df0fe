using OrleansCrm.Telemetry;
using Serilog.Context;

namespace OrleansCrm.Gateway.Hosting;

/// <summary>
/// Outermost: gives each request its correlation id (the caller's <see cref="Correlation.Header"/> when acceptable,
/// else a new one), answers with it in the same header, makes it the request's trace identifier (so problem details'
/// <c>traceId</c> is the same id), puts it on every log line written while the request runs (the request log
/// included) and hands it to the grains the request calls.
/// </summary>
public sealed class CorrelationMiddleware(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var offered = context.Request.Headers[Correlation.Header].ToString();
        var id = Correlation.IsAcceptable(offered) ? offered : Correlation.NewId();
        context.TraceIdentifier = id;
        context.Response.Headers[Correlation.Header] = id;
        Correlation.Set(id);
        using (LogContext.PushProperty(Correlation.LogProperty, id))
        {
            await next(context);
        }
    }
}
