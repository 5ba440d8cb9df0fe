using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using OrleansCrm.Customers;
using OrleansCrm.Gateway.Hosting;

namespace OrleansCrm.Gateway.Customers;

/// <summary>
/// <c>POST /api/v1/events</c>: a batch of events as NDJSON. The whole batch is checked before anything is recorded
/// (every line valid; unless <c>createIfMissing</c>, every customer existing and none erased), so a bad line refuses the
/// batch (400) and stores nothing; then events go to their customers grouped, a bounded number of customers at a time.
/// Each customer's events are recorded atomically and idempotently, so a retried batch changes nothing that was
/// already recorded. A customer that refuses its events only when they arrive (erased or merged away in between) is
/// answered per line: 207 with those lines in <c>refused</c>; every other customer's events are recorded.
/// </summary>
public static class EventBatchEndpoint
{
    public const int MaxLines = 10_000;
    public const long MaxBytes = 16L * 1024 * 1024;
    private const int Parallelism = 32;

    public static async Task<Results<Ok<BatchResult>, JsonHttpResult<BatchResult>, ValidationProblem, ProblemHttpResult>> PostBatchAsync(
        HttpRequest request, IClusterClient cluster, TimeProvider clock, bool createIfMissing = false)
    {
        if (request.ContentLength > MaxBytes)
        {
            return TooLarge();
        }

        var events = new List<(int Line, string CustomerId, CustomerEvent Event)>();
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var now = clock.GetUtcNow();
        try
        {
            using var reader = new StreamReader(new LimitedStream(request.Body, MaxBytes), Encoding.UTF8);
            var lineNumber = 0;
            while (await reader.ReadLineAsync() is { } line)
            {
                lineNumber++;
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }

                if (events.Count + errors.Count >= MaxLines)
                {
                    return Problems.Invalid("body", $"a batch may hold at most {MaxLines} events");
                }

                Parse(line, lineNumber, now, events, errors);
                if (errors.Count >= 100)
                {
                    break;
                }
            }
        }
        catch (LimitedStream.TooLargeException)
        {
            return TooLarge();
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The batch was refused; nothing was recorded");
        }

        if (events.Count == 0)
        {
            return Problems.Invalid("body", "no events: send one JSON event per line");
        }

        var groups = events.GroupBy(e => e.CustomerId, StringComparer.Ordinal).ToList();
        var unfit = new Dictionary<string, string[]>(StringComparer.Ordinal);
        // With createIfMissing a batch is taken as it comes (no extra call per customer on the ingest path): a customer
        // that refuses is then answered per line below.
        await ForEachAsync(createIfMissing ? [] : groups, async g =>
        {
            var view = await cluster.GetCustomer(g.Key).GetViewAsync();
            var problem = view is null && !createIfMissing ? $"no customer '{g.Key}' (pass createIfMissing=true to create)"
                : view is { Erased: true } ? $"customer '{g.Key}' was erased and accepts no further events"
                : null;
            if (problem is not null)
            {
                lock (unfit)
                {
                    unfit[$"line {g.First().Line}: customerId"] = [problem];
                }
            }
        });
        if (unfit.Count > 0)
        {
            return TypedResults.ValidationProblem(unfit, title: "The batch was refused; nothing was recorded");
        }

        var accepted = 0;
        var duplicates = 0;
        var refused = new List<BatchRefusal>();
        await ForEachAsync(groups, async g =>
        {
            try
            {
                var result = await cluster.GetCustomer(g.Key).RecordEventsAsync([.. g.Select(x => x.Event)], createIfMissing);
                var dup = result.Acks.Count(a => a.Duplicate);
                Interlocked.Add(ref duplicates, dup);
                Interlocked.Add(ref accepted, result.Acks.Length - dup);
            }
            catch (Exception e) when (e is CustomerRuleException or CustomerNotFoundException or OrleansCrm.Access.OutsideUnitException)
            {
                // Changed since the check above (erased, merged, removed): this customer's lines are refused, whole.
                var field = e switch { CustomerRuleException r => r.Field, OrleansCrm.Access.OutsideUnitException o => o.Field, _ => "customerId" };
                lock (refused)
                {
                    refused.AddRange(g.Select(x => new BatchRefusal(x.Line, g.Key, field, e.Message)));
                }
            }
        });

        var answer = new BatchResult(events.Count, accepted, duplicates, groups.Count, [.. refused.OrderBy(r => r.Line).Take(1000)]);
        return refused.Count == 0 ? TypedResults.Ok(answer) : TypedResults.Json(answer, statusCode: StatusCodes.Status207MultiStatus);
    }

    private static void Parse(string line, int lineNumber, DateTimeOffset now, List<(int, string, CustomerEvent)> events, Dictionary<string, string[]> errors)
    {
        EventEnvelope? envelope;
        try
        {
            envelope = JsonSerializer.Deserialize<EventEnvelope>(line, Problems.Json);
        }
        catch (JsonException error)
        {
            errors[$"line {lineNumber}: {Problems.JsonField(error)}"] = ["could not be read as the expected type"];
            return;
        }

        if (envelope is null)
        {
            errors[$"line {lineNumber}: body"] = ["must be a JSON object"];
            return;
        }

        if (CustomerKeys.Validate(envelope.CustomerId) is { } idProblem)
        {
            errors[$"line {lineNumber}: customerId"] = [idProblem];
            return;
        }

        var e = envelope.ToEvent();
        foreach (var (field, problems) in CustomerEventRules.ValidateFromCaller(e, now))
        {
            errors[$"line {lineNumber}: {field}"] = problems;
        }

        events.Add((lineNumber, envelope.CustomerId!, e));
    }

    private static Task ForEachAsync<T>(IEnumerable<T> items, Func<T, Task> body) =>
        Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (item, _) => await body(item));

    private static ProblemHttpResult TooLarge() => TypedResults.Problem(
        statusCode: StatusCodes.Status413PayloadTooLarge,
        title: "Batch too large",
        detail: $"A batch may be at most {MaxBytes / 1024 / 1024} MiB and {MaxLines} events; split it or use the import API.");

    /// <summary>What a batch did: its events, how many were recorded now and how many were there already, its
    /// customers, and the lines refused when they reached their customer (empty unless the answer is 207).</summary>
    public sealed record BatchResult(int Events, int Accepted, int Duplicates, int Customers, BatchRefusal[] Refused);

    /// <summary>A line its customer refused when it arrived: the line number, the customer, the field and why.</summary>
    public sealed record BatchRefusal(int Line, string CustomerId, string Field, string Reason);
}
