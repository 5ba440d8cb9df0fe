using Microsoft.OpenApi;

namespace OrleansCrm.Gateway.Api;

/// <summary>The webhook the cluster calls (<c>WebhookDeliveryGrain</c>), described as an OpenAPI 3.1 webhook so a
/// receiver can be generated and checked against it: the body, its signature and how deliveries are retried.</summary>
public static class OpenApiWebhooks
{
    public const string CampaignAction = "campaignAction";
    public const string SignatureHeader = "X-Crm-Signature";

    public static void Add(OpenApiDocument document)
    {
        var operation = new OpenApiOperation
        {
            OperationId = "ReceiveCampaignAction",
            Summary = "A campaign action for the receiver to carry out (sent to the URL set by PutWebhook)",
            Description = """
                The cluster POSTs each released campaign action to the webhook's URL as JSON, one action per request,
                up to 16 at once (so actions may arrive out of order: `sequence` gives the order they were stored in).

                **Signature.** `X-Crm-Signature: sha256=<hex>` is the lower-case hex HMAC-SHA256 of the raw body bytes,
                keyed with the webhook's secret (UTF-8). Recompute it over the body exactly as received, compare in
                constant time, and refuse the request when it differs.

                **Delivery** is at least once: any answer but 2xx, or none within 10 s, is retried after 2 s, doubling
                each time (2, 4, … 512 s), and given up after 10 attempts, about 17 minutes after the first (the action
                stays in the feed, `GET /api/v1/actions`, either way). A delivery that succeeded just before a crash may come again with the same
                `Idempotency-Key`: the receiver drops repeats by that key (it is the action's `idempotencyKey`).
                """,
            Tags = new HashSet<OpenApiTagReference> { new("Campaigns", document) },
            Parameters =
            [
                new OpenApiParameter
                {
                    Name = SignatureHeader, In = ParameterLocation.Header, Required = true,
                    Description = "`sha256=` and the lower-case hex HMAC-SHA256 of the body with the webhook's secret.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String, Pattern = "^sha256=[0-9a-f]{64}$" },
                },
                new OpenApiParameter
                {
                    Name = "Idempotency-Key", In = ParameterLocation.Header, Required = true,
                    Description = "The action's own key, the same on every retry of it.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String },
                },
            ],
            RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    ["application/json"] = new() { Schema = new OpenApiSchemaReference("CampaignAction", document) },
                },
            },
            Responses = new OpenApiResponses
            {
                ["200"] = new OpenApiResponse { Description = "Taken (any 2xx): the action is marked delivered." },
                ["default"] = new OpenApiResponse { Description = "Anything else is retried later." },
            },
            Security = [],
        };
        document.Webhooks = new Dictionary<string, IOpenApiPathItem>
        {
            [CampaignAction] = new OpenApiPathItem { Operations = new() { [HttpMethod.Post] = operation } },
        };
    }
}
