using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace OrleansCrm.Campaigns;

/// <summary>
/// The ticks of the always-on background grains (the capacity planner, the webhook sender). Once the silo's host has
/// begun to stop, a tick does nothing: the grains it would call (the catalog) may already be deactivated on a stopping
/// silo and cannot be placed there again, so every clean stop would log placement warnings and stack traces. The work
/// lives in the database, so the grain's next activation, on this silo after a restart or on another one, picks it up.
/// </summary>
public static class BackgroundTicks
{
    public static async Task RunUnlessStoppingAsync(this IHostApplicationLifetime lifetime, Func<Task> tick, ILogger logger, string what)
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            return;
        }

        try
        {
            await tick();
        }
        catch (Exception e) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            // The stop began while this tick ran: what it did not finish stays in the database for the next one.
            logger.LogDebug(e, "{What} cut short: the silo is stopping", what);
        }
    }
}
