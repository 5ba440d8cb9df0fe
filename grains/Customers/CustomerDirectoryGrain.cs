using Orleans.Concurrency;

namespace OrleansCrm.Customers;

[GrainType("customer-directory"), StatelessWorker]
public sealed class CustomerDirectoryGrain(IContactIndex index) : Grain, ICustomerDirectoryGrain
{
    public async Task<LookupResult> FindAsync(string kind, string value)
    {
        var normalised = kind switch
        {
            "email" => ContactPoints.Email(value),
            "phone" => ContactPoints.Phone(value),
            ContactPoints.NameKind when ContactPoints.Name(value) is var name && name.Any(char.IsLetter) => name,
            ContactPoints.NameKind => throw new CustomerRuleException("name", "must contain letters"),
            "ext" when value.IndexOf(':', StringComparison.Ordinal) is > 0 and var colon =>
                ContactPoints.ExternalId(value[..colon], value[(colon + 1)..]),
            _ => throw new CustomerRuleException(kind == "ext" ? "ext" : "kind", kind == "ext" ? "must be system:id" : "must be email, phone, ext or name"),
        };
        var holders = await index.HoldersAsync(ContactPoints.IndexKey(kind, normalised), ContactIndexLimits.HoldersFound);
        return new LookupResult(kind, normalised, [.. holders]);
    }
}
