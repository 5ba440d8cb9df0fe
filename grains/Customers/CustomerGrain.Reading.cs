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

    /// <summary>The encoded members of the view that depend on the state alone (<see cref="CustomerViewJson.Encode"/>),
    /// made at the first read after a change; null after anything that may have changed the state (see
    /// <see cref="ForgetEncodedView"/>).</summary>
    private CustomerViewJson.EncodedState? _encodedState;

    public async Task<ViewJson?> GetViewJsonAsync(string[]? fields)
    {
        _housekeepingOnly = false;
        if (S.MergedInto is { } survivor)
        {
            return await GrainFactory.GetCustomer(survivor).GetViewJsonAsync(fields);
        }

        if (!S.Exists)
        {
            return null;
        }

        // What depends on the moment (rolling spend, scores, next-best-action) is computed at every read, as in
        // GetViewAsync, and only when asked for.
        var now = clock.GetUtcNow();
        var snapshot = decisions.Current;
        var wanted = fields is null ? null : new HashSet<string>(fields, StringComparer.Ordinal);
        bool Wants(string member) => wanted is null || wanted.Contains(member);
        _encodedState ??= CustomerViewJson.Encode(CustomerAggregate.View(S, Id, now, snapshot, timed: false));
        var scores = Wants("scores") || Wants("nextBestActions") ? CustomerDecisions.Scores(S, now, snapshot) : null;
        return new ViewJson(CustomerViewJson.Compose(_encodedState, wanted,
            Wants("transactions") ? CustomerAggregate.Summary(S.Totals, now) : null,
            Wants("scores") ? scores : null,
            Wants("nextBestActions") ? CustomerDecisions.NextBestActions(S, now, snapshot, scores!) : null));
    }

    /// <summary>The calls that leave the state as it was: the encoded view survives them. Any other call, timer or reload
    /// forgets it, before and after it runs.</summary>
    private static readonly HashSet<string> StateReads = new(StringComparer.Ordinal)
    {
        nameof(GetViewAsync), nameof(GetViewJsonAsync), nameof(GetOrgUnitAsync), nameof(PeekOrgUnitAsync), nameof(GetNextBestActionsAsync),
    };

    private void ForgetEncodedView() => _encodedState = null;

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
