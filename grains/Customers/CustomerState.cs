namespace OrleansCrm.Customers;

/// <summary>What a customer grain persists. Bounded: nothing here grows with the customer's age.</summary>
[GenerateSerializer, Alias("crm.CustomerState")]
public sealed class CustomerState
{
    [Id(0)] public string? FirstName { get; set; }
    [Id(1)] public string? LastName { get; set; }
    [Id(2)] public string? Email { get; set; }
    [Id(3)] public string? Phone { get; set; }
    [Id(4)] public DateTimeOffset CreatedAt { get; set; }
    [Id(5)] public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Counts stored changes; 0 means the customer was never recorded.</summary>
    [Id(6)] public long Revision { get; set; }
}
