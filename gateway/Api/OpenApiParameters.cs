using Microsoft.OpenApi;

namespace OrleansCrm.Gateway.Api;

/// <summary>What each parameter of the API means, for the contract: by operation and name where the meaning depends
/// on the operation (paging, imports), else by name. A test fails for a parameter described nowhere.</summary>
public static class OpenApiParameters
{
    private const string Id = "1–128 letters, digits, `-`, `_`, `.`, `@` or `:`.";

    private static readonly Dictionary<string, string> ByName = new(StringComparer.Ordinal)
    {
        ["customerId"] = "The customer's id: " + Id + " A customer of another organisation unit answers as a missing one (404).",
        ["campaignId"] = "The campaign's id: " + Id,
        ["segmentId"] = "The segment's id: " + Id,
        ["ruleId"] = "The rule's id.",
        ["offerId"] = "The offer's id.",
        ["agentId"] = "The agent's id (an agent's login); agents reach only their own.",
        ["login"] = "The user's login.",
        ["keyId"] = "The API key's id (not its secret).",
        ["importId"] = "The import's id: the one given when it started, or the one its answer named.",
        ["createIfMissing"] = "`true`: an unknown customer is created by its first event instead of answering 404 (batches: instead of refusing the batch).",
        ["mapping"] = "Which column holds each field: `field=column` pairs separated by `,` (a field not named is read from the column of its own name, case ignored).",
        ["asOf"] = "The time the import's customer rows are recorded at (default: when the import starts); not part of the event ids, so a rerun changes nothing.",
        ["createCustomers"] = "`true`: rows of customers that do not exist create them; otherwise such rows are rejected with their line.",
        ["day"] = "The day, `yyyy-MM-dd` in the organisation's time zone (default: today).",
        ["fields"] = "Only these members of the view, separated by `,` (`customerId` always comes); unknown names are a 400 naming `fields`. Members not asked for are not computed.",
        ["email"] = "An e-mail address (case ignored).",
        ["phone"] = "A phone number, in any usual notation (normalised before it is looked up).",
        ["ext"] = "An external id as `system:id`.",
        ["name"] = "A full name or a last name (case and accents ignored).",
        ["sample"] = "How many members the statistics read (1–10000, default 1000).",
        ["profile"] = "`true`: each row also carries names, e-mail, phone and region.",
        ["sequence"] = "The call's sequence on the agent's list.",
        ["actor"] = "Only records of this actor (a login, or `key:ID` for an API key).",
    };

    private static readonly Dictionary<(string Operation, string Name), string> ByOperation = new()
    {
        [("QueryAudit", "customerId")] = "Only records about this customer.",
        [("QueryAudit", "after")] = "The `next` of the previous page (0 or absent: from the oldest record).",
        [("QueryAudit", "limit")] = "Records per page, 1–1000 (default 100).",
        [("ActionFeed", "after")] = "The `next` of the previous page (absent or `0`: from the first action).",
        [("ActionFeed", "limit")] = "Actions per page, 1–1000 (default 100).",
        [("ActionFeed", "campaignId")] = "Only this campaign's actions.",
        [("GetCustomerHistory", "before")] = "The `next` of the previous page (absent: from the newest event).",
        [("GetCustomerHistory", "limit")] = "Events per page, 1–500 (default 50).",
        [("SegmentMembers", "after")] = "The `next` of the previous page (absent: from the first member).",
        [("SegmentMembers", "limit")] = "Members per page, 1–1000 (default 100).",
        [("ImportCustomers", "attributes")] = "Extra columns kept as the customer's free attributes: `*` every unmapped one, or names separated by `;`.",
        [("ImportTransactions", "type")] = "The type of rows without a type column: one of the transaction types (default `purchase`).",
        [("ImportEvents", "type")] = "Not taken: each row gives its own type (a value is a 400 naming `type`).",
        [("PlanCapacity", "day")] = "The day to plan, `yyyy-MM-dd` in the organisation's time zone (default: today).",
    };

    /// <summary>Describes the parameters of <paramref name="operation"/> that carry no description yet.</summary>
    public static void Describe(OpenApiOperation operation)
    {
        foreach (var parameter in (operation.Parameters ?? []).OfType<OpenApiParameter>())
        {
            if (string.IsNullOrWhiteSpace(parameter.Description) && parameter.Name is { } name
                && (ByOperation.TryGetValue((operation.OperationId ?? "", name), out var text) || ByName.TryGetValue(name, out text)))
            {
                parameter.Description = text;
            }
        }
    }
}
