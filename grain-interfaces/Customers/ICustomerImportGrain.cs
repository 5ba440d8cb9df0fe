namespace OrleansCrm.Customers;

/// <summary>
/// A silo's bulk path for imports (a stateless worker: one per core on the silo that receives the call). It takes a
/// chunk of customers' rows at once. While nothing would act on a new customer at once (no segment is defined, no
/// enabled rule starts a campaign, no row reports an offer's outcome), a customer that does not exist yet is stored
/// straight in the log with its contact claims, many customers per transaction and without an activation: it is built
/// from its log when first used. Every other customer's rows go through its grain as single calls would.
/// </summary>
[Alias("crm.ICustomerImportGrain")]
public interface ICustomerImportGrain : IGrainWithIntegerKey
{
    /// <summary>Records each item's events for its customer (creating customers that do not exist when
    /// <paramref name="createIfMissing"/>); one outcome per item, in order.</summary>
    [Alias("Record")]
    Task<ImportItemOutcome[]> RecordAsync(ImportItem[] items, bool createIfMissing);
}

/// <summary>One customer's rows of an import chunk.</summary>
[GenerateSerializer, Immutable, Alias("crm.ImportItem")]
public sealed record ImportItem(string CustomerId, CustomerEvent[] Events);

/// <summary>What became of an item: how many of its events were new and how many already logged; or, when
/// <see cref="Field"/> is set, why it was refused (nothing of it stored); or <see cref="Unanswered"/> when the cluster
/// did not answer for that customer in time (sending it again is safe: event ids make it idempotent).</summary>
[GenerateSerializer, Immutable, Alias("crm.ImportItemOutcome")]
public sealed record ImportItemOutcome(int Imported, int Duplicates, string? Field = null, string? Problem = null, bool Unanswered = false);
