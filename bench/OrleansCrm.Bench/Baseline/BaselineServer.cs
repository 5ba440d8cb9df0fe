using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using OrleansCrm.Customers;

namespace OrleansCrm.Bench.Baseline;

/// <summary>
/// The baseline's HTTP tier, in the bench process on a port of its own: <c>GET /baseline/customers/{id}</c> (the
/// view as JSON) and <c>POST /baseline/customers/{id}/events</c> (one money movement). It validates the request and
/// calls the store, and nothing else: no authentication, rate limit or audit record, which the CRM's gateway does on
/// every request.
/// </summary>
public sealed class BaselineServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly NpgsqlDataSource _data;

    private BaselineServer(WebApplication app, NpgsqlDataSource data, BaselineStore store, string url)
    {
        _app = app;
        _data = data;
        Store = store;
        Url = url;
    }

    public BaselineStore Store { get; }

    public string Url { get; }

    public static async Task<BaselineServer> StartAsync(string connectionString, string url, int maxPoolSize)
    {
        var data = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = maxPoolSize });
        var store = new BaselineStore(data, TimeProvider.System);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(url);
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(store);
        var app = builder.Build();
        app.MapBaselineEndpoints();
        await app.StartAsync();
        return new BaselineServer(app, data, store, url);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _data.DisposeAsync();
    }
}

public static class BaselineEndpoints
{
    public static IEndpointRouteBuilder MapBaselineEndpoints(this IEndpointRouteBuilder app)
    {
        var customers = app.MapGroup("/baseline/customers");
        customers.MapGet("/{customerId}", async Task<Results<Ok<BaselineView>, NotFound>> (string customerId, BaselineStore store) =>
            await store.GetViewAsync(customerId) is { } view ? TypedResults.Ok(view) : TypedResults.NotFound());
        customers.MapPost("/{customerId}/events", RecordAsync);
        return app;
    }

    private static async Task<Results<Ok<BaselineAck>, NotFound, ValidationProblem>> RecordAsync(string customerId, BaselineEvent e, BaselineStore store)
    {
        var errors = Validate(customerId, e, DateTimeOffset.UtcNow);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var outcome = await store.RecordAsync(customerId, e.EventId!, e.Type!, e.OccurredAt, e.Data!.Amount!.Value, e.Data.Quantity, e.Channel, e.Data.Category);
        return outcome == IngestOutcome.UnknownCustomer
            ? TypedResults.NotFound()
            : TypedResults.Ok(new BaselineAck(e.EventId!, outcome == IngestOutcome.Duplicate));
    }

    /// <summary>The checks the CRM's gateway makes on the same fields (ids, type, time, channel, amount).</summary>
    private static Dictionary<string, string[]> Validate(string customerId, BaselineEvent e, DateTimeOffset now)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (CustomerKeys.Validate(customerId) is { } problem)
        {
            errors["customerId"] = [problem];
        }

        if (string.IsNullOrWhiteSpace(e.EventId) || e.EventId.Length > CustomerEventRules.MaxIdLength)
        {
            errors["eventId"] = [$"is required, at most {CustomerEventRules.MaxIdLength} characters"];
        }

        if (e.Type is null || !BaselineRows.TransactionKinds.Contains(e.Type))
        {
            errors["type"] = ["must be purchase, deposit or withdrawal"];
        }

        if (e.OccurredAt == default || e.OccurredAt > now + CustomerEventRules.MaxFutureSkew || e.OccurredAt < CustomerEventRules.EarliestOccurredAt)
        {
            errors["occurredAt"] = ["is required, from 1900 and not in the future"];
        }

        if (e.Channel is not null && !CustomerEventRules.Channels.Contains(e.Channel))
        {
            errors["channel"] = ["is not a known channel"];
        }

        if (e.Data?.Amount is not { } amount || amount < 0 || amount > 1_000_000_000m)
        {
            errors["data.amount"] = ["is required, between 0 and 1,000,000,000"];
        }

        return errors;
    }
}

public sealed record BaselineAck(string EventId, bool Duplicate);
