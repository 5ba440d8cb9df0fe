using System.Globalization;
using OrleansCrm.Decisions;

namespace OrleansCrm.Customers;

/// <summary>The customer's <see cref="ICustomerReading"/> role. Reading: the view, the unit, next-best-action and the
/// history page.</summary>
public sealed partial class CustomerGrain
{
    public async Task<CustomerView?> GetViewAsync()
    {
        _housekeepingOnly = false;
        if (S.MergedInto is { } survivor)
        {
            return await GrainFactory.GetCustomer(survivor).GetViewAsync();
        }

        return S.Exists ? CustomerAggregate.View(S, Id, clock.GetUtcNow(), decisions.Current) : null;
    }

    public Task<string?> PeekOrgUnitAsync() =>
        S.MergedInto is { } survivor ? GrainFactory.GetCustomer(survivor).PeekOrgUnitAsync() : Task.FromResult(S.Exists ? S.OrgUnit ?? "" : null);

    public async Task<string?> GetOrgUnitAsync()
    {
        if (S.MergedInto is { } survivor)
        {
            return await GrainFactory.GetCustomer(survivor).GetOrgUnitAsync();
        }

        return S.Exists ? S.OrgUnit ?? "" : null;
    }

    public async Task<NextBestAction[]> GetNextBestActionsAsync()
    {
        _housekeepingOnly = false;
        if (S.MergedInto is { } survivor)
        {
            return await GrainFactory.GetCustomer(survivor).GetNextBestActionsAsync();
        }

        if (!S.Exists)
        {
            throw new CustomerNotFoundException(Id);
        }

        var now = clock.GetUtcNow();
        var snapshot = decisions.Current;
        return CustomerDecisions.NextBestActions(S, now, snapshot, CustomerDecisions.Scores(S, now, snapshot));
    }

    public async Task<HistoryPage> GetHistoryAsync(string? cursor, int limit)
    {
        _housekeepingOnly = false;
        if (S.MergedInto is { } survivor)
        {
            return await GrainFactory.GetCustomer(survivor).GetHistoryAsync(cursor, limit);
        }

        if (!S.Exists)
        {
            throw new CustomerNotFoundException(Id);
        }

        var before = HistoryCursor.Parse(cursor);
        limit = Math.Clamp(limit, 1, 500);
        var rows = await log.ReadPageAsync(Id, before, limit + 1);
        var items = rows.Take(limit)
            .Select(r => new HistoryItem(r.Sequence, r.Event.EventId, r.CustomerId, r.Event.Type, r.Event.OccurredAt, r.RecordedAt, r.Event.Source, r.Event.Channel, r.Event.Data))
            .ToArray();
        var next = rows.Count > limit ? HistoryCursor.Format(items[^1].OccurredAt, items[^1].Sequence) : null;
        return new HistoryPage(items, next);
    }
}

/// <summary>Opaque position in a customer's history: occurred-at ticks and sequence of the last item seen.</summary>
public static class HistoryCursor
{
    public static string Format(DateTimeOffset occurredAt, long sequence) =>
        string.Create(CultureInfo.InvariantCulture, $"{occurredAt.UtcTicks}.{sequence}");

    public static (DateTimeOffset, long)? Parse(string? cursor)
    {
        if (string.IsNullOrEmpty(cursor))
        {
            return null;
        }

        var parts = cursor.Split('.');
        if (parts.Length == 2
            && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
            && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var sequence)
            && ticks >= DateTimeOffset.MinValue.UtcTicks && ticks <= DateTimeOffset.MaxValue.UtcTicks)
        {
            return (new DateTimeOffset(ticks, TimeSpan.Zero), sequence);
        }

        throw new CustomerRuleException("before", "is not a cursor returned by a previous page");
    }
}
