using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http.HttpResults;
using Orleans.Streams;
using OrleansCrm.Customers;
using OrleansCrm.Gateway.Access;
using OrleansCrm.Gateway.Hosting;

namespace OrleansCrm.Gateway.Customers;

/// <summary>
/// <c>GET /api/v1/customers/{id}/live</c>: server-sent events telling a screen when the customer's view changed.
/// The connection subscribes to the customer's <see cref="CustomerLive.Namespace"/> stream and keeps the customer
/// watched (renewing every <see cref="Renewal"/>); closing it unsubscribes. Events: <c>ready</c> (the sequence the
/// screen's first read reflects), <c>changed</c> (a later sequence and the event types), <c>heartbeat</c>.
/// </summary>
public static class LiveEndpoint
{
    /// <summary>How long one watch lasts if the gateway stops renewing it (a gateway that died).</summary>
    public static readonly TimeSpan WatchDuration = TimeSpan.FromSeconds(60);

    public static readonly TimeSpan Renewal = TimeSpan.FromSeconds(20);

    public static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(15);

    public static IEndpointRouteBuilder MapCustomerLiveEndpoint(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/customers/{customerId}/live", LiveAsync)
            .WithTags("Customers")
            .WithName("CustomerLive")
            .WithSummary("Server-sent events: 'ready' with the current sequence, then 'changed' after each change of the customer's view, and a 'heartbeat' every 15 s")
            .Produces<CustomerChanged>(StatusCodes.Status200OK, "text/event-stream");
        return app;
    }

    private static async Task<Results<ServerSentEventsResult<CustomerChanged>, ValidationProblem>> LiveAsync(
        string customerId, IClusterClient cluster, ILoggerFactory loggers, HttpContext context)
    {
        if (CustomerKeys.Validate(customerId) is { } problem)
        {
            return Problems.Invalid("customerId", problem);
        }

        // Subscribe before the first watch so no change between the two is missed; a merged customer's notices come
        // from its survivor, so the subscription moves there.
        var logger = loggers.CreateLogger(typeof(LiveEndpoint));
        var subscription = await LiveSubscription.OpenAsync(cluster, customerId, logger);
        try
        {
            var watch = await cluster.GetGrain<ICustomerLiveGrain>(CustomerKeys.GrainKey(customerId)).WatchAsync(WatchDuration);
            if (watch.CustomerId != customerId)
            {
                await subscription.DisposeAsync();
                subscription = await LiveSubscription.OpenAsync(cluster, watch.CustomerId, logger);
                watch = await cluster.GetGrain<ICustomerLiveGrain>(CustomerKeys.GrainKey(watch.CustomerId)).WatchAsync(WatchDuration);
            }

            // The stream unsubscribes when it ends; this covers a connection that closes before it starts.
            context.Response.RegisterForDisposeAsync(subscription);
            return TypedResults.ServerSentEvents(Events(cluster, subscription, watch, logger, () => StillAllowedAsync(context, cluster, watch.CustomerId), context.RequestAborted));
        }
        catch
        {
            await subscription.DisposeAsync();
            throw;
        }
    }

    /// <summary>Whether the caller may still watch the customer: the credentials still valid (a user not disabled or
    /// signed out, a key not revoked), a role that may read it, and the customer still in the caller's unit.</summary>
    private static async Task<bool> StillAllowedAsync(HttpContext context, IClusterClient cluster, string customerId)
    {
        // Asked afresh (the request's own authentication result is cached for its whole length).
        var services = context.RequestServices;
        var (principal, _) = await CrmAuthenticationHandler.AuthenticateAsync(context.Request, services.GetRequiredService<TokenService>(), services.GetRequiredService<ApiKeys>());
        if (principal is null || !EndpointPolicies.Admits(EndpointPolicies.Table["CustomerLive"], principal.RoleNames()))
        {
            return false;
        }

        return principal.OrgUnit().Length == 0 || await cluster.GetCustomer(customerId).GetOrgUnitAsync() is { } unit && principal.Sees(unit);
    }

    private static async IAsyncEnumerable<SseItem<CustomerChanged>> Events(
        IClusterClient cluster, LiveSubscription subscription, CustomerWatch watch, ILogger logger, Func<Task<bool>> stillAllowed, [EnumeratorCancellation] CancellationToken aborted)
    {
        await using var _ = subscription;
        var grain = cluster.GetGrain<ICustomerLiveGrain>(CustomerKeys.GrainKey(watch.CustomerId));
        var last = watch.Sequence;
        yield return Item("ready", new CustomerChanged(watch.CustomerId, last, []));

        var renewAt = DateTime.UtcNow + Renewal;
        while (!aborted.IsCancellationRequested)
        {
            var wait = Min(Heartbeat, renewAt - DateTime.UtcNow);
            var notice = await subscription.NextAsync(wait, aborted);
            if (aborted.IsCancellationRequested)
            {
                yield break;
            }

            if (notice is not null)
            {
                // Notices published before the screen's first read are already reflected in it.
                if (notice.Sequence > last)
                {
                    last = notice.Sequence;
                    yield return Item("changed", notice);
                }
            }
            else
            {
                yield return Item("heartbeat", new CustomerChanged(watch.CustomerId, last, []));
            }

            if (DateTime.UtcNow >= renewAt)
            {
                renewAt = DateTime.UtcNow + Renewal;
                if (!await stillAllowed())
                {
                    // Disabled, signed out, revoked or moved out of reach since the stream opened: it ends here.
                    logger.LogInformation("Live stream of customer {CustomerId} ended: the caller may no longer watch it", watch.CustomerId);
                    yield break;
                }

                try
                {
                    await grain.WatchAsync(WatchDuration);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The next renewal tries again; the watch lasts three renewals.
                    logger.LogWarning(e, "Watch of customer {CustomerId} not renewed", watch.CustomerId);
                }
            }
        }
    }

    private static SseItem<CustomerChanged> Item(string type, CustomerChanged data) =>
        new(data, type) { EventId = data.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture) };

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => TimeSpan.FromTicks(Math.Max(0, Math.Min(a.Ticks, b.Ticks)));

    /// <summary>One connection's subscription to a customer's notices, buffered in a small channel (a screen too
    /// slow to keep up loses intermediate notices, never the latest: it only needs to know it must re-read).</summary>
    private sealed class LiveSubscription : IAsyncDisposable
    {
        private readonly Channel<CustomerChanged> _notices = Channel.CreateBounded<CustomerChanged>(
            new BoundedChannelOptions(64) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

        private readonly ILogger _logger;
        private StreamSubscriptionHandle<CustomerChanged>? _handle;

        private LiveSubscription(ILogger logger) => _logger = logger;

        public static async Task<LiveSubscription> OpenAsync(IClusterClient cluster, string customerId, ILogger logger)
        {
            var live = new LiveSubscription(logger);
            var stream = cluster.GetStreamProvider(StorageNames.Streams)
                .GetStream<CustomerChanged>(StreamId.Create(CustomerLive.Namespace, customerId));
            live._handle = await stream.SubscribeAsync((notice, _) =>
            {
                live._notices.Writer.TryWrite(notice);
                return Task.CompletedTask;
            });
            return live;
        }

        /// <summary>The next notice, or null when <paramref name="wait"/> passed without one (or the connection closed).</summary>
        public async Task<CustomerChanged?> NextAsync(TimeSpan wait, CancellationToken aborted)
        {
            if (_notices.Reader.TryRead(out var ready))
            {
                return ready;
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(aborted);
            timeout.CancelAfter(wait);
            try
            {
                return await _notices.Reader.ReadAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                return null;
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _handle, null) is { } handle)
            {
                try
                {
                    await handle.UnsubscribeAsync();
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    _logger.LogWarning(e, "Live subscription {StreamId} not removed", handle.StreamId);
                }
            }
        }
    }
}
