namespace OrleansCrm.Customers;

/// <summary>
/// One customer: the single source of the customer's live view. Keyed by <see cref="CustomerKeys.GrainKey"/>.
/// Everything that changes a customer is an event, appended to the customer's log before it is acknowledged.
/// The grain's work is split along its roles, one interface each (recording, reading, segments, campaign decisions,
/// identity and privacy); a caller that needs one role can ask for that interface by the same key.
/// </summary>
[Alias("crm.ICustomerGrain")]
public interface ICustomerGrain : ICustomerRecording, ICustomerReading, ICustomerSegments, ICustomerCampaigns, ICustomerIdentity
{
}

[GenerateSerializer, Immutable, Alias("crm.HandOver")]
public sealed record HandOver(string CustomerId, string[] LogKeys, string[] Emails, string[] Phones, Dictionary<string, string> ExternalIds);

[GenerateSerializer, Immutable, Alias("crm.MergeResult")]
public sealed record MergeResult(string SurvivorId, string MergedId, int EventsAbsorbed, CustomerView View);

/// <summary>The customer does not exist (and the call did not ask to create it).</summary>
[GenerateSerializer, Alias("crm.CustomerNotFoundException")]
public sealed class CustomerNotFoundException : Exception
{
    public CustomerNotFoundException()
    {
    }

    public CustomerNotFoundException(string customerId)
        : base($"No customer with id '{customerId}' was recorded.") => CustomerId = customerId;

    public CustomerNotFoundException(string message, Exception inner)
        : base(message, inner)
    {
    }

    [Id(0)] public string CustomerId { get; init; } = "";
}

/// <summary>A request the customer cannot honour as asked (merging a customer into itself, a contact point
/// claimed by another customer); the message says which field and why.</summary>
[GenerateSerializer, Alias("crm.CustomerRuleException")]
public sealed class CustomerRuleException : Exception
{
    public CustomerRuleException()
    {
    }

    public CustomerRuleException(string field, string message)
        : base(message) => Field = field;

    public CustomerRuleException(string message, Exception inner)
        : base(message, inner)
    {
    }

    [Id(0)] public string Field { get; init; } = "";
}

/// <summary>The customer's rows could not be stored (the database refused them or could not be reached); nothing
/// of the call was acknowledged, and a retry with the same event ids is safe.</summary>
[GenerateSerializer, Alias("crm.CustomerStorageException")]
public sealed class CustomerStorageException : Exception
{
    public CustomerStorageException()
    {
    }

    public CustomerStorageException(string message)
        : base(message)
    {
    }

    public CustomerStorageException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
