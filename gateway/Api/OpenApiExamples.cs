using System.Text.Json.Nodes;
using Microsoft.OpenApi;

namespace OrleansCrm.Gateway.Api;

/// <summary>Examples of the main request bodies in the contract, by operation. Each is a valid request: a test
/// sends every one of them to a running gateway (<c>OpenApiContractTests</c>).</summary>
public static class OpenApiExamples
{
    /// <summary>Operation id → (media type, example body as text). JSON bodies are parsed; NDJSON and CSV stay text.</summary>
    public static readonly IReadOnlyDictionary<string, (string MediaType, string Body)> Bodies = new Dictionary<string, (string, string)>(StringComparer.Ordinal)
    {
        ["UpsertCustomer"] = ("application/json", """
            {"firstName":"Ada","lastName":"Lovelace","email":"ada@example.com","region":"north","tags":["newsletter"]}
            """),
        ["PostCustomerEvent"] = ("application/json", """
            {"eventId":"order-10023","type":"purchase","occurredAt":"2026-12-01T10:15:00Z","channel":"web","data":{"amount":129.5}}
            """),
        ["PostEventBatch"] = ("application/x-ndjson", """
            {"customerId":"c-1001","eventId":"order-10024","type":"purchase","occurredAt":"2026-12-01T10:16:00Z","channel":"branch","data":{"amount":42}}
            {"customerId":"c-1002","eventId":"visit-77","type":"web.visit","occurredAt":"2026-12-01T10:17:00Z","channel":"web","data":{"url":"/tents"}}

            """),
        ["ImportCustomers"] = ("text/csv", """
            ID,first_name,last_name,mail,segment
            c-2001,Grace,Hopper,grace@example.com,gold
            c-2002,Alan,Turing,alan@example.com,silver

            """),
        ["ImportTransactions"] = ("text/csv", """
            customer_id,date,dollar_value
            c-2001,2026-11-30T09:00:00Z,19.99
            c-2002,2026-11-30T09:05:00Z,5.00

            """),
        ["PreviewSegment"] = ("application/json", """
            {"expression":"region in (\"north\", \"east\") and tags contains \"newsletter\"","sampleSize":10}
            """),
        ["PutSegment"] = ("application/json", """
            {"name":"Newsletter spenders","expression":"region in (\"north\", \"east\") and tags contains \"newsletter\""}
            """),
        ["PutCampaign"] = ("application/json", """
            {"name":"Winter","type":"single","segments":["newsletter-spenders"],"channels":["email"],"templates":{"email":{"subject":"Hi","body":"Hello {{ customer.firstName }}"}}}
            """),
    };

    /// <summary>Query parameters worth an example (an import's column mapping).</summary>
    private static readonly Dictionary<(string Operation, string Parameter), string> Parameters = new()
    {
        [("ImportCustomers", "mapping")] = "customerId=ID,firstName=first_name,lastName=last_name,email=mail",
        [("ImportCustomers", "attributes")] = "segment",
        [("ImportTransactions", "mapping")] = "customerId=customer_id,occurredAt=date,amount=dollar_value",
    };

    public static void Add(OpenApiDocument document)
    {
        foreach (var operation in (document.Paths ?? []).Values.SelectMany(p => p.Operations ?? []).Select(o => o.Value))
        {
            var id = operation.OperationId ?? "";
            if (Bodies.TryGetValue(id, out var example) && operation.RequestBody?.Content is { } content
                && content.TryGetValue(example.MediaType, out var media))
            {
                media.Example = example.MediaType == "application/json" ? JsonNode.Parse(example.Body) : JsonValue.Create(example.Body);
            }

            foreach (var parameter in operation.Parameters ?? [])
            {
                if (parameter is OpenApiParameter p && p.Name is { } name && Parameters.TryGetValue((id, name), out var value))
                {
                    p.Example = JsonValue.Create(value);
                }
            }
        }
    }
}
