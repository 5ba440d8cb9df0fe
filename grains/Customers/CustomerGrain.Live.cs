using Microsoft.Extensions.Logging;
using Orleans.Streams;

namespace OrleansCrm.Customers;

/// <summary>The live side of the customer: change notices on the <see cref="CustomerLive.Namespace"/> stream, sent
/// only while a screen watches (see <see cref="ICustomerLiveGrain"/>).</summary>
public sealed partial class CustomerGrain
{
    /// <summary>Until when a watcher asked for notices; in memory only: a new activation starts unwatched, and the
    /// watcher's next renewal (well within a watch's duration) marks it watched again.</summary>
    private DateTimeOffset _watchedUntil;

    public async Task<CustomerWatch> WatchAsync(TimeSpan duration)
    {
        _housekeepingOnly = false;
        if (S.MergedInto is { } survivor)
        {
            return await GrainFactory.GetGrain<ICustomerLiveGrain>(CustomerKeys.GrainKey(survivor)).WatchAsync(duration);
        }

        if (!S.Exists)
        {
            throw new CustomerNotFoundException(Id);
        }

        var length = duration <= TimeSpan.Zero ? TimeSpan.Zero : duration > CustomerLive.MaxWatch ? CustomerLive.MaxWatch : duration;
        _watchedUntil = clock.GetUtcNow() + length;
        DelayDeactivation(length);
        return new CustomerWatch(Id, S.AppliedSequence);
    }

    /// <summary>Tells watchers the view changed. Called after the state is stored; a failure here is logged and
    /// never fails the write (watchers re-read the view when they reconnect).</summary>
    private async Task PublishChangeAsync(IEnumerable<CustomerEvent> applied)
    {
        if (_watchedUntil <= clock.GetUtcNow())
        {
            return;
        }

        try
        {
            var notice = new CustomerChanged(Id, S.AppliedSequence, [.. applied.Select(e => e.Type).Distinct(StringComparer.Ordinal)]);
            await this.GetStreamProvider(StorageNames.Streams)
                .GetStream<CustomerChanged>(StreamId.Create(CustomerLive.Namespace, Id))
                .OnNextAsync(notice);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogWarning(e, "Change notice {Sequence} of customer {CustomerId} not published", S.AppliedSequence, Id);
        }
    }
}
