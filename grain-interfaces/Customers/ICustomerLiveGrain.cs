namespace OrleansCrm.Customers;

/// <summary>
/// The live side of a customer (the same grain as <see cref="ICustomerGrain"/>, same key): a screen that watches the
/// customer makes it publish a <see cref="CustomerChanged"/> notice on stream <see cref="CustomerLive.Namespace"/>
/// (provider <see cref="StorageNames.Streams"/>, key the customer id) after each acknowledged change. Nothing is
/// published while nobody watches.
/// </summary>
[Alias("crm.ICustomerLiveGrain")]
public interface ICustomerLiveGrain : IGrainWithStringKey
{
    /// <summary>
    /// Marks the customer as watched for <paramref name="duration"/> (at most <see cref="CustomerLive.MaxWatch"/>);
    /// a watcher renews before it runs out. Returns the id whose stream carries the notices (the survivor, for a
    /// merged customer) and its current log sequence. Throws <see cref="CustomerNotFoundException"/> when no such
    /// customer was recorded.
    /// </summary>
    [Alias("Watch")]
    Task<CustomerWatch> WatchAsync(TimeSpan duration);
}

/// <summary>The answer to <see cref="ICustomerLiveGrain.WatchAsync"/>: whose stream to read and from which sequence.</summary>
[GenerateSerializer, Immutable, Alias("crm.CustomerWatch")]
public sealed record CustomerWatch(string CustomerId, long Sequence);

/// <summary>A customer's view changed: <paramref name="Sequence"/> is the customer's log sequence after the write,
/// <paramref name="EventTypes"/> the types of the events it applied. A notice, not a copy: readers re-read the view.</summary>
[GenerateSerializer, Immutable, Alias("crm.CustomerChanged")]
public sealed record CustomerChanged(string CustomerId, long Sequence, string[] EventTypes);

/// <summary>Names and limits of the live stream shared by the customer grain and the gateway.</summary>
public static class CustomerLive
{
    /// <summary>Stream namespace of the change notices; the stream key is the customer id.</summary>
    public const string Namespace = "customer-view";

    /// <summary>The longest a single watch lasts without renewal.</summary>
    public static readonly TimeSpan MaxWatch = TimeSpan.FromMinutes(5);
}
