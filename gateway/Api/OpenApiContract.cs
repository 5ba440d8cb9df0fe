using System.Globalization;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using OrleansCrm.Access;
using OrleansCrm.Gateway.Access;
using Scope = OrleansCrm.Gateway.Access.Scope;

namespace OrleansCrm.Gateway.Api;

/// <summary>
/// The API's contract as integrators read it at <c>/openapi/v1.json</c> and generate clients from it. The endpoints
/// give their name (the operationId), summary and body types; this adds what follows from the gateway's own rules, so
/// it cannot differ from them: the credentials every operation takes (<see cref="PathAccess"/>), who may call it, which
/// organisation unit decides and whether it is audited (<see cref="EndpointPolicies"/>), the problem answers the
/// middleware gives (credentials, roles, request budget, <c>Idempotency-Key</c>, body limits, storage away, time-outs),
/// the <c>Idempotency-Key</c> header, the tags, and the webhook the cluster calls. Only <c>/api</c> is described
/// (the cluster dashboard, health and metrics are operators' pages).
/// </summary>
public static class OpenApiContract
{
    public const string ApiKeyScheme = "apiKey";
    public const string ApiKeyAuthorizationScheme = "apiKeyAuthorization";
    public const string BearerScheme = "bearer";
    public const string SessionScheme = "session";
    public const string ProblemSchema = "Problem";

    /// <summary>Operations that take no credentials (signing in).</summary>
    private static readonly HashSet<string> Anonymous = [AccessEndpoints.IssueToken, AccessEndpoints.StartSession];

    private static readonly (string Name, string Description)[] Tags =
    [
        ("Access", "Signing in (tokens and browser sessions), users, API keys, the signing key and the audit trail."),
        ("Customers", "One customer: the live view, profile, events, history, next-best-action, merges and look-up by contact."),
        ("Events", "Many customers' events in one request (NDJSON), each line acknowledged or refused on its own."),
        ("Imports", "Bulk files (CSV or NDJSON) of customers, transactions or events, streamed and checked row by row."),
        ("Privacy", "A customer's data export and erasure."),
        ("Rules", "Real-time rules: conditions on an event and the customer, and the actions they take."),
        ("Offers", "The offer catalog next-best-action ranks, and customers' answers to offers."),
        ("Models", "Scoring models: scorecards, lifetime value, RFM thresholds and their training."),
        ("Segments", "Segments defined by an expression, kept up to date as events arrive; members, statistics and exports."),
        ("Campaigns", "Campaigns, their actions (pushed by webhook or read from the feed), capacity and agents' call lists."),
    ];

    private static readonly Dictionary<string, string> ProblemDescriptions = new(StringComparer.Ordinal)
    {
        ["400"] = "The request is not valid: the problem names the field (`errors` for a body's fields).",
        ["401"] = "No valid credentials: send an API key, a bearer token or the session cookie (signing in: a wrong login or password).",
        ["403"] = "The caller's roles do not admit this operation, it needs a caller of the whole organisation, or a change came from another site's page (`Origin`).",
        ["404"] = "Not found, or outside the caller's organisation unit (the two are indistinguishable).",
        ["409"] = "A conflict: a request with the same `Idempotency-Key` is still running (with `Retry-After`: its answer comes to a repeat), or the resource's state does not allow the change now.",
        ["413"] = "The body is larger than this operation accepts.",
        ["415"] = "The body's `Content-Type` is not one this operation reads.",
        ["422"] = "The `Idempotency-Key` was used before with a different request.",
        ["429"] = "The caller's request budget is spent; `Retry-After` says when to retry.",
        ["503"] = "The cluster or its storage cannot take the request now (`Retry-After` when a change could not be stored). The outcome of a change may be unknown: events are safe to send again with the same ids; check other changes before repeating them.",
        ["504"] = "The cluster did not answer in time; the outcome is unknown. Events are safe to send again with the same ids; check other changes before repeating them.",
    };

    public static void Configure(OpenApiOptions options)
    {
        options.ShouldInclude = description => description.RelativePath?.StartsWith("api/", StringComparison.OrdinalIgnoreCase) == true;
        options.AddSchemaTransformer(OptionalWhenNullable);
        options.AddOperationTransformer(DescribeOperation);
        options.AddDocumentTransformer(DescribeDocument);
    }

    /// <summary>A member that may be null may also be left out: the bodies are records whose every parameter the
    /// generator would call required, while the gateway reads a missing member as null and answers 400 naming the
    /// members it needs (so the contract does not claim more than the gateway checks).</summary>
    private static Task OptionalWhenNullable(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellation)
    {
        if (schema.Required is { Count: > 0 } required && schema.Properties is { } properties)
        {
            foreach (var name in required.ToList())
            {
                if (properties.TryGetValue(name, out var property) && AllowsNull(property))
                {
                    required.Remove(name);
                }
            }
        }

        return Task.CompletedTask;
    }

    private static bool AllowsNull(IOpenApiSchema schema) =>
        (schema.Type is { } type && type.HasFlag(JsonSchemaType.Null))
        || (schema.OneOf ?? []).Any(s => s.Type == JsonSchemaType.Null)
        || (schema.AnyOf ?? []).Any(s => s.Type == JsonSchemaType.Null);

    private static Task DescribeOperation(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellation)
    {
        var document = context.Document!;
        var name = operation.OperationId;
        var method = context.Description.HttpMethod ?? "GET";
        var path = context.Description.RelativePath ?? "";
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        var described = metadata.OfType<DescribedBody>().FirstOrDefault();
        var anonymous = name is not null && Anonymous.Contains(name);
        var policy = name is null ? null : EndpointPolicies.Table.GetValueOrDefault(name);

        operation.Security = anonymous
            ? [new OpenApiSecurityRequirement()]
            : [.. new[] { ApiKeyScheme, ApiKeyAuthorizationScheme, BearerScheme, SessionScheme }
                .Select(s => new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(s, document)] = [] })];

        var access = anonymous ? SignInAccess : policy is null ? null : Access(policy);
        operation.Description = string.Join("\n\n", new[] { operation.Description, access }.Where(s => !string.IsNullOrWhiteSpace(s)));

        OpenApiParameters.Describe(operation);
        var post = HttpMethods.IsPost(method);
        var keepsAnswers = IdempotencyMiddleware.AppliesTo(method, "/" + path);
        if (keepsAnswers)
        {
            (operation.Parameters ??= []).Add(KeyParameter(
                "Makes a retry safe: the first answer below 500 to this key (per caller) is kept for 24 hours and sent again, with "
                + "`Idempotent-Replayed: true`, to every repeat of the same request; while the first attempt runs, a repeat gets 409 with "
                + "`Retry-After`. Answers of 500 and above are not kept. 1–200 printable ASCII characters.",
                IdempotencyMiddleware.MaxKeyLength));
        }
        else if (name == "UpsertCustomer")
        {
            (operation.Parameters ??= []).Add(KeyParameter(
                "The profile change's id (an event id): a repeat with the same key is acknowledged as a duplicate and changes nothing.",
                OrleansCrm.Customers.CustomerEventRules.MaxIdLength));
        }

        // A body the endpoint reads itself, checking its Content-Type on its own (DescribedBody).
        if (operation.RequestBody is null && described is not null)
        {
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content = described.MediaTypes.ToDictionary(m => m, _ => new OpenApiMediaType()),
            };
        }

        // Streams of lines (NDJSON, CSV) are sent as they are: a body of bytes to clients, the line's type in words.
        foreach (var (mediaType, media) in operation.RequestBody?.Content ?? new Dictionary<string, OpenApiMediaType>())
        {
            if (mediaType is "application/x-ndjson" or "text/csv")
            {
                var line = media.Schema is OpenApiSchemaReference { Reference.Id: { } id } ? $"one `{id}` (#/components/schemas/{id}) per line" : null;
                media.Schema = new OpenApiSchema
                {
                    Type = JsonSchemaType.String,
                    Format = "binary",
                    Description = mediaType == "text/csv" ? "CSV with a header row, UTF-8." : "NDJSON, UTF-8: " + (line ?? "one JSON object per line") + ".",
                };
            }
        }

        // 415 comes from routing, for an endpoint that declares the media types it accepts (a bound JSON body, or
        // Accepts); one that reads the request itself (DescribedBody) checks the Content-Type on its own: 400 naming it.
        var bound = metadata.OfType<IAcceptsMetadata>().Any();
        var local = metadata.OfType<AnsweredByTheGateway>().Any();
        var codes = new List<string>();
        if (!local && (operation.Parameters is { Count: > 0 } || operation.RequestBody is not null || post))
        {
            codes.Add("400");
        }

        // Signing in answers 401 for a wrong login or password; every change from another site's page is 403.
        codes.AddRange(["401", "403"]);

        if (path.Contains('{'))
        {
            codes.Add("404");
        }

        if (keepsAnswers)
        {
            codes.Add("409");
        }

        if (operation.RequestBody is not null && described is not { Unbounded: true })
        {
            codes.Add("413");
        }

        if (bound)
        {
            codes.Add("415");
        }

        if (keepsAnswers)
        {
            codes.Add("422");
        }

        codes.Add("429");
        if (!local)
        {
            codes.AddRange(["503", "504"]);
        }

        operation.Responses ??= [];
        foreach (var code in codes)
        {
            if (operation.Responses.TryGetValue(code, out var declared) && declared is OpenApiResponse { Content: { } content } response
                && content.TryGetValue("application/problem+json", out var problem) && problem.Schema is OpenApiSchemaReference { Reference.Id: "HttpValidationProblemDetails" })
            {
                // A validation problem the endpoint declared: its schema (with `errors` per field) stays, in our words.
                response.Description = ProblemDescriptions[code];
                continue;
            }

            operation.Responses[code] = Problem(document, code);
        }

        // Problem answers an endpoint declared itself (ProducesProblem) take the same schema.
        foreach (var code in operation.Responses.Keys.ToList())
        {
            if (code[0] is '4' or '5' && !codes.Contains(code) && ProblemDescriptions.ContainsKey(code))
            {
                operation.Responses[code] = Problem(document, code);
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>The access paragraph of signing in, from the limits the sign-in guards apply.</summary>
    private static readonly string SignInAccess = string.Create(CultureInfo.InvariantCulture,
        $"**Access.** Needs no credentials. After {SignInGuard.FreeFailures} failed sign-ins in a row a login is locked for {SignInGuard.FirstLock.TotalSeconds:0} s, "
        + $"doubling up to {SignInGuard.LongestLock.TotalMinutes:0} minutes, and an address that failed {SignInThrottle.FreeFailures} times within "
        + $"{SignInThrottle.Window.TotalMinutes:0} minutes waits out the window: both answer 429 with `Retry-After`, without checking the password.");

    private static OpenApiParameter KeyParameter(string description, int maxLength) => new()
    {
        Name = IdempotencyMiddleware.Header,
        In = ParameterLocation.Header,
        Required = false,
        Description = description,
        Schema = new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = maxLength },
    };

    private static OpenApiResponse Problem(OpenApiDocument document, string code)
    {
        var response = new OpenApiResponse
        {
            Description = ProblemDescriptions[code],
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["application/problem+json"] = new() { Schema = new OpenApiSchemaReference(ProblemSchema, document) },
            },
        };
        if (code == "429")
        {
            response.Headers = new Dictionary<string, IOpenApiHeader>
            {
                ["Retry-After"] = new OpenApiHeader
                {
                    Description = "Seconds until the budget holds a request again.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "1" },
                },
            };
        }

        return response;
    }

    /// <summary>Who may call an operation and what decides, in the words of the access model (docs/access.md).</summary>
    private static string Access(EndpointPolicy policy)
    {
        var roles = string.Join(", ", policy.Roles.Append(Roles.Administrator).Select(r => $"`{r}`"));
        var scope = policy.Scope switch
        {
            Scope.Customer => " A customer outside the caller's organisation unit answers 404, as a missing one does.",
            Scope.Segment => " A segment outside the caller's organisation unit answers 404.",
            Scope.Campaign => " A campaign outside the caller's organisation unit answers 404.",
            Scope.Agent => " Agents reach only their own call list; campaign managers every agent's in their unit.",
            Scope.Organisation => " Only callers of the whole organisation (no organisation unit); others get 403.",
            _ => "",
        };
        var audit = policy.Audit switch
        {
            Audit.Read => " Every call is recorded in the audit trail (a read of personal data).",
            Audit.Change => " Every call is recorded in the audit trail.",
            _ => " Refusals are recorded in the audit trail.",
        };
        return $"**Access.** Roles: {roles}.{scope}{audit}";
    }

    private static Task DescribeDocument(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellation)
    {
        // The same title whichever process (silo or standalone gateway) serves the document.
        document.Info.Title = "OrleansCrm API";
        document.Info.Version = "v1";
        document.Info.Description = """
            The HTTP API of an OrleansCrm cluster, for screens and integrators.

            **Credentials.** Every operation but signing in takes one of: an API key (`X-Api-Key: <key>` or
            `Authorization: ApiKey <key>`), a bearer token from `POST /api/v1/auth/token`, or the browser session cookie
            from `POST /api/v1/auth/session` (a change made with the cookie alone must come from the site's own pages:
            `Origin` or `Referer`).

            **Errors** are RFC 7807 problem documents (`application/problem+json`) naming the field at fault; `traceId`
            is the request's correlation id (`X-Correlation-Id`), which its log lines carry.

            **Retries.** A POST with an `Idempotency-Key` is answered once and its answer (below 500) replayed to repeats;
            a repeat while the first still runs gets 409 with `Retry-After`. After a 503 or 504 the outcome of a change may
            be unknown and a repeat runs again: events, batches and imports are safe to repeat (their ids make repeats
            duplicates); check other changes first. A 429 says when to retry with `Retry-After`.

            **Actions** the cluster fires reach integrators by webhook (`webhooks.campaignAction`, signed) or from the
            feed (`GET /api/v1/actions`, a cursor to pass back).
            """;
        foreach (var server in document.Servers ?? [])
        {
            server.Url = server.Url?.TrimEnd('/');
        }

        document.Tags = new HashSet<OpenApiTag>(Tags.Select(t => new OpenApiTag { Name = t.Name, Description = t.Description }));

        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes = new Dictionary<string, IOpenApiSecurityScheme>
        {
            [ApiKeyScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey, In = ParameterLocation.Header, Name = "X-Api-Key",
                Description = "An integrator's API key (`POST /api/v1/api-keys`, shown once).",
            },
            [ApiKeyAuthorizationScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey, In = ParameterLocation.Header, Name = "Authorization",
                Description = "The same API key as `Authorization: ApiKey <key>`.",
            },
            [BearerScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http, Scheme = "bearer",
                Description = "A token from `POST /api/v1/auth/token` (a user's login and password); it expires and is revoked with the user.",
            },
            [SessionScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey, In = ParameterLocation.Cookie, Name = CrmPrincipal.SessionCookie,
                Description = "The screens' session cookie from `POST /api/v1/auth/session` (HttpOnly); a change made with it alone must carry this site's `Origin` or `Referer`.",
            },
        };

        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        document.Components.Schemas[ProblemSchema] = ProblemDocument();
        // Declared problem answers now refer to Problem (DescribeOperation), so the framework's own schema is unused.
        document.Components.Schemas.Remove("ProblemDetails");
        OpenApiExamples.Add(document);
        OpenApiWebhooks.Add(document);
        return Task.CompletedTask;
    }

    /// <summary>RFC 7807 with the gateway's extensions (<c>traceId</c>; <c>errors</c> per field for invalid input).</summary>
    private static OpenApiSchema ProblemDocument() => new()
    {
        Type = JsonSchemaType.Object,
        Description = "An RFC 7807 problem document.",
        Properties = new Dictionary<string, IOpenApiSchema>
        {
            ["type"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "A URI naming the kind of problem." },
            ["title"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "A short summary, the same for every occurrence." },
            ["status"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Description = "The HTTP status code." },
            ["detail"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "What went wrong this time, for a person." },
            ["instance"] = new OpenApiSchema { Type = JsonSchemaType.String },
            ["traceId"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "The request's correlation id." },
            ["errors"] = new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                Description = "For invalid input: the messages per field (a JSON path into the body, a parameter or a header).",
                AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.String } },
            },
        },
    };
}

/// <summary>The body of an endpoint that reads the request itself (a file streamed row by row), for the contract
/// only: unlike <c>Accepts</c>, it does not make routing refuse other media types, so the endpoint answers a wrong
/// <c>Content-Type</c> with its own 400 naming it. <paramref name="Unbounded"/>: the endpoint lifts the body limit
/// (no 413).</summary>
public sealed record DescribedBody(bool Unbounded, params string[] MediaTypes);

/// <summary>Marks an endpoint the gateway answers from its own memory, without the cluster: the contract lists no
/// 503 or 504 for it, and no 400 (it validates nothing).</summary>
public sealed class AnsweredByTheGateway;
