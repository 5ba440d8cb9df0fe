using System.Diagnostics;

namespace OrleansCrm.Gateway.Hosting;

/// <summary>
/// Sends a call again when the cluster rejected it before it reached its grain (no silo could place or address it: a
/// silo that owned part of the grain directory has just died and is not yet declared dead). Such a call ran nowhere, so
/// sending it again is safe for every method. A <see cref="SiloUnavailableException"/> (the silo died while the call
/// may have been running) is not retried here: the caller decides, as with any other failure. Retries stop at half the
/// call timeout; the caller then sees the rejection as before (a 503 with Retry-After).
/// </summary>
public sealed class UndeliveredCallRetry(OrleansCrm.Hosting.Configuration.CrmSettings settings, ILogger<UndeliveredCallRetry> logger) : IOutgoingGrainCallFilter
{
    public async Task Invoke(IOutgoingGrainCallContext context)
    {
        var started = Stopwatch.GetTimestamp();
        var budget = settings.Gateway.CallTimeout / 2;
        for (var attempt = 1; ; attempt++)
        {
            Exception? failure;
            try
            {
                await context.Invoke();
                failure = context.Response?.Exception;
            }
            catch (OrleansMessageRejectionException e) when (e is not SiloUnavailableException)
            {
                failure = e;
            }

            if (failure is not OrleansMessageRejectionException || failure is SiloUnavailableException)
            {
                return;
            }

            var delay = TimeSpan.FromMilliseconds(Math.Min(800, 50 << Math.Min(attempt, 4)));
            if (Stopwatch.GetElapsedTime(started) + delay > budget)
            {
                if (context.Response?.Exception is null)
                {
                    // It was thrown rather than answered: let it go on as it came.
                    throw failure;
                }

                return;
            }

            logger.LogDebug("{Interface}.{Method} to {Grain} was not delivered ({Reason}); sending it again (attempt {Attempt})",
                context.InterfaceName, context.MethodName, context.TargetId, failure.Message, attempt + 1);
            await Task.Delay(delay);
        }
    }
}
