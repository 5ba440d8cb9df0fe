using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using OrleansCrm.Decisions;

namespace OrleansCrm.Customers;

/// <summary>
/// The bulk path of imports (<see cref="ICustomerImportGrain"/>). New customers go to the writer's
/// <see cref="ICustomerWriter.CreateAsync"/> all at once, so one group commit carries hundreds of them; a customer that
/// turns out to exist, and every customer while something would act on a new one at once, goes through its grain.
/// </summary>
[StatelessWorker]
[Reentrant] // Holds nothing between calls: a chunk waiting on its customers' commits must not hold up the next chunk.
public sealed class CustomerImportGrain(ICustomerWriter writer, DecisionCatalog decisions, TimeProvider clock, ILogger<CustomerImportGrain> logger) : Grain, ICustomerImportGrain
{
    /// <summary>Grain calls one chunk keeps in flight for the customers that go through their grains.</summary>
    private const int GrainCallsInFlight = 64;

    public async Task<ImportItemOutcome[]> RecordAsync(ImportItem[] items, bool createIfMissing)
    {
        var outcomes = new ImportItemOutcome[items.Length];
        var now = clock.GetUtcNow();
        var before = createIfMissing ? await BulkCatalogAsync() : null;
        var throughGrains = new List<int>();
        var direct = new List<(int Index, NewCustomer Customer, int Repeated)>();
        for (var i = 0; i < items.Length; i++)
        {
            var item = items[i];
            if (Refusal(item, now) is { } refused)
            {
                outcomes[i] = refused;
            }
            else if (before is null || ActsAtOnce(before, item.Events))
            {
                throughGrains.Add(i);
            }
            else
            {
                var distinct = item.Events.DistinctBy(e => e.EventId, StringComparer.Ordinal).ToArray();
                var state = new CustomerState();
                foreach (var e in distinct)
                {
                    CustomerAggregate.Apply(state, e, now);
                }

                direct.Add((i, new NewCustomer(item.CustomerId, distinct, [.. ContactPoints.Keys(state)]), item.Events.Length - distinct.Length));
            }
        }

        var created = new List<NewCustomer>();
        if (direct.Count > 0)
        {
            var appended = await Task.WhenAll(direct.Select(d => writer.CreateAsync(d.Customer)));
            for (var k = 0; k < direct.Count; k++)
            {
                if (appended[k] is { } appends)
                {
                    var fresh = appends.Count(a => !a.Existed);
                    outcomes[direct[k].Index] = new ImportItemOutcome(fresh, appends.Count - fresh + direct[k].Repeated);
                    created.Add(direct[k].Customer);
                }
                else
                {
                    throughGrains.Add(direct[k].Index);
                }
            }
        }

        // On this activation's scheduler, so the grain calls keep the request's context.
        var bounded = new ParallelOptions { MaxDegreeOfParallelism = GrainCallsInFlight, TaskScheduler = TaskScheduler.Current };
        await Parallel.ForEachAsync(throughGrains, bounded, async (i, _) => outcomes[i] = await RecordThroughGrainAsync(items[i], createIfMissing));

        var after = created.Count > 0 ? await BulkCatalogAsync() : before;
        if (after is null || created.Any(c => ActsAtOnce(after, c.Events)))
        {
            // A segment or a campaign-starting rule arrived while this chunk was stored: a backfill that walked past
            // these customers before their rows committed would miss them, so they are woken now and decide for
            // themselves (an activation evaluates every segment and rule over its log).
            await Parallel.ForEachAsync(created, bounded, async (c, _) => await GrainFactory.GetCustomer(c.CustomerId).ReevaluateSegmentsAsync(decisions.Current.SegmentsVersion));
        }

        return outcomes;
    }

    /// <summary>The catalog as loaded on this silo when new customers may skip their activation (no segment is
    /// defined, so none has members to count; no customer state from an earlier version's storage), else null.</summary>
    private async Task<DecisionSnapshot?> BulkCatalogAsync()
    {
        await decisions.WhenLoadedAsync(TimeSpan.FromSeconds(30));
        var current = decisions.Current;
        return (current.Segments?.Count ?? 0) == 0 && !await writer.MayHoldLegacyStatesAsync() ? current : null;
    }

    /// <summary>Whether a new customer with <paramref name="events"/> would make something happen beyond its own state:
    /// an enabled rule that starts a campaign on one of their types, or an offer's outcome (offer learning). Its grain
    /// then records them, as a single call would. Everything else a rule does (tags, alerts, scores, proposed offers)
    /// lives in the customer's state and is derived the same when it is built from its log.</summary>
    private static bool ActsAtOnce(DecisionSnapshot catalog, IEnumerable<CustomerEvent> events) =>
        (catalog.Segments?.Count ?? 0) > 0
        || events.Any(e => e.Type == CustomerEventTypes.OfferOutcome
            || catalog.Rules.Any(r => r.Enabled && (r.When?.Type is null || r.When.Type == e.Type) && (r.Then ?? []).Any(a => a.Action == "triggerCampaign")));

    private static ImportItemOutcome? Refusal(ImportItem item, DateTimeOffset now)
    {
        if (CustomerKeys.Validate(item.CustomerId) is { } idProblem)
        {
            return new ImportItemOutcome(0, 0, "customerId", $"customerId {idProblem}");
        }

        foreach (var e in item.Events)
        {
            var errors = CustomerEventRules.Validate(e, now);
            if (errors.Count > 0)
            {
                var (field, problems) = errors.First();
                return new ImportItemOutcome(0, 0, field, $"{field} {problems[0]}");
            }
        }

        return null;
    }

    private async Task<ImportItemOutcome> RecordThroughGrainAsync(ImportItem item, bool createIfMissing)
    {
        try
        {
            // The acknowledgements only: the view is of no use to an import and costs more to build than the record.
            var result = await GrainFactory.GetCustomer(item.CustomerId).RecordAsync(item.Events, new RecordOptions(createIfMissing, ReturnView: false));
            var duplicates = result.Acks.Count(a => a.Duplicate);
            return new ImportItemOutcome(result.Acks.Length - duplicates, duplicates);
        }
        catch (CustomerNotFoundException)
        {
            return new ImportItemOutcome(0, 0, "customerId", $"no customer '{item.CustomerId}' (pass createCustomers=true to create)");
        }
        catch (CustomerRuleException e)
        {
            return new ImportItemOutcome(0, 0, e.Field, e.Message);
        }
        catch (Exception e) when (e is TimeoutException or SiloUnavailableException or OrleansMessageRejectionException or CustomerStorageException)
        {
            logger.LogInformation("Import rows of customer {CustomerId} not answered: {Error}", item.CustomerId, e.Message);
            return new ImportItemOutcome(0, 0, Unanswered: true);
        }
    }
}
