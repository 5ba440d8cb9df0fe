using System.Text.Json;
using CsvHelper;
using Microsoft.AspNetCore.Http.HttpResults;
using OrleansCrm.Customers;
using OrleansCrm.Gateway.Api;
using OrleansCrm.Gateway.Hosting;

namespace OrleansCrm.Gateway.BulkImport;

/// <summary>
/// Bulk import of customers and transactions from CSV or NDJSON. The body is read as a stream, row by row; rows
/// are grouped per customer, customers into chunks, and chunks sent to a silo's import worker
/// (<see cref="ICustomerImportGrain"/>) with a bounded number in flight, so a slow cluster slows the reading instead
/// of filling memory. Bad rows are rejected with their line number and reason
/// and the rest is imported; event ids come from row content, so the same file imported twice changes nothing.
/// </summary>
public static class ImportEndpoints
{
    /// <summary>Chunks in flight (each up to <see cref="MaxCustomersPerChunk"/> customers, at a silo's import worker).
    /// Every write joins the silo's group commit (SQLite too: one writer, one transaction per batch), so a chunk's
    /// customers share transactions.</summary>
    private const int MaxInFlight = 8;
    private const int MaxEventsPerCall = 100;
    private const int MaxCustomersPerChunk = 256;
    private const int MaxEventsPerChunk = 2_000;
    private const int MaxAttempts = 5;

    public static IEndpointRouteBuilder MapImportEndpoints(this IEndpointRouteBuilder app)
    {
        var imports = app.MapGroup("/api/v1/imports").WithTags("Imports");
        // One operation per kind: a literal path each, so the contract tells them from GetImport's /{importId}.
        imports.MapPost("/customers", (HttpRequest request, IClusterClient cluster, ImportRegistry registry, string? mapping, string? attributes, string? importId, DateTimeOffset? asOf) =>
                ImportAsync(ImportKind.Customers, request, cluster, registry, mapping, attributes, null, importId, asOf, createCustomers: true))
            .WithName(ImportCustomers).WithSummary("Import customers' profiles from CSV (text/csv) or NDJSON (application/x-ndjson)")
            .WithDescription("Each row creates the customer or updates the profile fields it maps; `attributes` keeps extra columns as the customer's "
                + "free attributes: `*` every unmapped one, or names separated by `;`." + StreamedImport)
            .WithMetadata(new DescribedBody(Unbounded: true, "text/csv", "application/x-ndjson")).ProducesProblem(StatusCodes.Status409Conflict);
        imports.MapPost("/transactions", (HttpRequest request, IClusterClient cluster, ImportRegistry registry, string? mapping, string? type, string? importId, DateTimeOffset? asOf, bool? createCustomers) =>
                ImportAsync(ImportKind.Transactions, request, cluster, registry, mapping, NotTaken(request, "attributes"), type, importId, asOf, createCustomers ?? false))
            .WithName(ImportTransactions).WithSummary("Import transactions from CSV (text/csv) or NDJSON (application/x-ndjson)")
            .WithDescription("A transactions import carries " + string.Join(", ", CustomerEventTypes.TransactionImportTypes.Select(t => $"`{t}`"))
                + $" (`type`: the default for rows without a type column; `{CustomerEventTypes.Purchase}` when not given). Rows of customers that do not exist are rejected unless `createCustomers=true`." + StreamedImport)
            .WithMetadata(new DescribedBody(Unbounded: true, "text/csv", "application/x-ndjson")).ProducesProblem(StatusCodes.Status409Conflict);
        imports.MapPost("/events", (HttpRequest request, IClusterClient cluster, ImportRegistry registry, string? mapping, string? type, string? importId, DateTimeOffset? asOf, bool? createCustomers) =>
                ImportAsync(ImportKind.Events, request, cluster, registry, mapping, NotTaken(request, "attributes"), type, importId, asOf, createCustomers ?? false))
            .WithName(ImportEvents).WithSummary("Import events of any type from CSV (text/csv) or NDJSON (application/x-ndjson)")
            .WithDescription("Each row's type is its own (a `type` parameter is refused). Rows of customers that do not exist are rejected unless `createCustomers=true`." + StreamedImport)
            .WithMetadata(new DescribedBody(Unbounded: true, "text/csv", "application/x-ndjson")).ProducesProblem(StatusCodes.Status409Conflict);
        // Any other kind: a 400 naming it (without this, the path would reach GetImport's route and answer 405).
        imports.MapPost("/{kind}", (string kind) => Problems.Invalid("kind", $"must be customers, transactions or events, not '{Shorten(kind)}'"))
            .WithName(ImportUnknownKind).ExcludeFromDescription();
        imports.MapGet("/{importId}", (string importId, ImportRegistry registry) =>
            registry.Find(importId) is { } job ? Results.Ok(job.Progress()) : Results.Problem(title: "Import not found", statusCode: 404))
            .WithName("GetImport").WithSummary("Progress of an import: rows read, imported, duplicate, rejected (with line and reason)")
            .WithMetadata(new AnsweredByTheGateway());
        return app;
    }

    public const string ImportCustomers = "ImportCustomers";

    private const string StreamedImport = " The body is streamed row by row with no size limit, and the answer comes once the whole file was read "
        + "(GetImport with `importId` shows the progress meanwhile). Bad rows are rejected with their line and reason and the rest imported; "
        + "event ids come from row content, so the same file imported twice changes nothing.";
    public const string ImportTransactions = "ImportTransactions";
    public const string ImportEvents = "ImportEvents";

    /// <summary>The answer to an import of a kind that does not exist (not in the contract).</summary>
    public const string ImportUnknownKind = "ImportUnknownKind";

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";

    /// <summary>A query parameter this kind of import does not take, passed on so the mapping refuses it by name.</summary>
    private static string? NotTaken(HttpRequest request, string name) => request.Query.TryGetValue(name, out var value) ? value.ToString() : null;

    private static async Task<Results<Ok<ImportProgress>, ValidationProblem, ProblemHttpResult>> ImportAsync(
        ImportKind importKind,
        HttpRequest request,
        IClusterClient cluster,
        ImportRegistry registry,
        string? mapping,
        string? attributes,
        string? type,
        string? importId,
        DateTimeOffset? asOf,
        bool createCustomers)
    {
        var map = ImportMapping.Parse(importKind, mapping, attributes, out var mapProblem);
        if (map is null)
        {
            return Problems.Invalid(mapProblem!.StartsWith("attributes", StringComparison.Ordinal) ? "attributes" : "mapping", mapProblem);
        }

        var defaultType = type ?? CustomerEventTypes.Purchase;
        if (importKind == ImportKind.Transactions && !CustomerEventTypes.TransactionImportTypes.Contains(defaultType))
        {
            return Problems.Invalid("type", ImportMapping.TransactionTypeProblem);
        }

        // An import streams a file of any size; everything else keeps the server's limit.
        if (request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = null;
        }

        var mediaType = request.ContentType?.Split(';')[0].Trim().ToLowerInvariant();
        var ndjson = mediaType is "application/x-ndjson" or "application/ndjson" or "application/jsonl";
        if (!ndjson && mediaType is not ("text/csv" or "application/csv"))
        {
            return Problems.Invalid("Content-Type", "must be text/csv or application/x-ndjson");
        }

        if (importId is not null && CustomerKeys.Validate(importId) is { } idProblem)
        {
            return Problems.Invalid("importId", idProblem);
        }

        // Every check of the request comes before the job exists: a refused request leaves no job behind.
        if (importKind == ImportKind.Events && type is not null)
        {
            return Problems.Invalid("type", "event imports take the type from each row");
        }

        var job = registry.Start(importId ?? Guid.NewGuid().ToString("N"), importKind);
        if (job is null)
        {
            return TypedResults.Problem(title: "Import already running", statusCode: StatusCodes.Status409Conflict, detail: $"Import '{importId}' is still running.");
        }

        var create = importKind == ImportKind.Customers || createCustomers;
        using var sender = new BatchSender(cluster, job, create, MaxInFlight);
        var started = asOf ?? DateTimeOffset.UtcNow;
        try
        {
            var rows = ndjson ? ReadNdjson(request.Body, job) : ReadCsv(request.Body, job, map);
            ResolvedMapping? resolved = null;
            IReadOnlyList<string>? resolvedFor = null;
            await foreach (var (line, headers, get) in rows)
            {
                job.RowRead();
                if (!ReferenceEquals(headers, resolvedFor))
                {
                    // CSV rows share one header; every NDJSON line brings its own keys.
                    resolved = map.Resolve(headers, out var lineProblem);
                    resolvedFor = headers;
                    if (resolved is null)
                    {
                        job.Reject(line, "mapping", lineProblem!);
                        continue;
                    }
                }

                if (resolved is null)
                {
                    job.Reject(line, "mapping", "the line lacks the mapped fields");
                    continue;
                }

                var (row, field, problem) = resolved.Map(get, started, defaultType);
                if (row is null)
                {
                    job.Reject(line, field!, problem!);
                    continue;
                }

                await sender.AddAsync(line, row.CustomerId, row.Event);
            }

            await sender.FlushAsync();
            job.Finish(null);
        }
        catch (HeaderProblemException e)
        {
            job.Finish(e.Message);
            return Problems.Invalid("mapping", e.Message);
        }
        catch (Exception e) when (e is CsvFormatException or IOException or BadHttpRequestException)
        {
            await sender.DrainAsync();
            job.Finish(e.Message);
            return TypedResults.Problem(title: "The file could not be read to the end", statusCode: 400, detail: e.Message, extensions: new Dictionary<string, object?> { ["progress"] = job.Progress() });
        }
        catch (Exception e)
        {
            // Anything else (the cluster, the caller gone): the job ends as failed rather than staying "running", so
            // its id can be used again.
            await sender.DrainAsync();
            job.Finish(e is OperationCanceledException ? "the request was aborted" : e.Message);
            throw;
        }

        return TypedResults.Ok(job.Progress());
    }

    private static async IAsyncEnumerable<(long Line, IReadOnlyList<string> Headers, Func<int, string> Get)> ReadCsv(Stream body, ImportJob job, ImportMapping map)
    {
        await using var csv = CsvReader.Create(body, new CsvReaderOptions { HasHeader = true, TrackLineNumbers = true, MaxRecordSize = 1024 * 1024 }, true);
        await csv.ReadHeaderAsync();
        var headers = csv.Headers.ToArray();
        if (map.Resolve(headers, out var problem) is null)
        {
            throw new HeaderProblemException(problem!);
        }

        while (await csv.ReadAsync())
        {
            var line = csv.LineNumber;
            if (csv.FieldCount != headers.Length)
            {
                job.RowRead();
                job.Reject(line, "row", $"has {csv.FieldCount} fields, the header has {headers.Length}");
                continue;
            }

            yield return (line, headers, i => csv.GetString(i));
        }
    }

    /// <summary>The longest NDJSON line read (as a CSV record is bounded by its reader's MaxRecordSize).</summary>
    public const int MaxNdjsonLineChars = 1024 * 1024;

    private static async IAsyncEnumerable<(long Line, IReadOnlyList<string> Headers, Func<int, string> Get)> ReadNdjson(Stream body, ImportJob job)
    {
        using var stream = new StreamReader(body);
        var reader = new BoundedLineReader(stream, MaxNdjsonLineChars);
        long line = 0;
        while (await reader.ReadLineAsync() is var (text, tooLong))
        {
            line++;
            if (tooLong)
            {
                // Skipped without being held: one line cannot grow the process, whatever its length.
                job.RowRead();
                job.Reject(line, "body", $"the line is longer than {MaxNdjsonLineChars:N0} characters");
                continue;
            }

            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            List<(string Name, string Value)> fields;
            try
            {
                using var doc = JsonDocument.Parse(text);
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                {
                    throw new JsonException("not an object");
                }

                // An event envelope's "data" object is flattened, so its fields map like columns.
                fields = [.. doc.RootElement.EnumerateObject()
                    .SelectMany(p => p.Name == "data" && p.Value.ValueKind == JsonValueKind.Object ? p.Value.EnumerateObject().ToArray() : new[] { p })
                    .Select(p => (p.Name, p.Value.ValueKind switch
                    {
                        JsonValueKind.String => p.Value.GetString()!,
                        JsonValueKind.Null => "",
                        _ => p.Value.GetRawText(),
                    }))];
            }
            catch (JsonException)
            {
                job.RowRead();
                job.Reject(line, "body", "is not a JSON object");
                continue;
            }
            catch (InvalidOperationException)
            {
                // A string escape that is not text (half of a surrogate pair, "\ud800"): the reader cannot decode it.
                job.RowRead();
                job.Reject(line, "body", CustomerEventRules.NotTextProblem);
                continue;
            }

            var headers = fields.Select(f => f.Name).ToArray();
            yield return (line, headers, i => fields[i].Value);
        }
    }

    /// <summary>Groups consecutive rows of a customer into items and items into chunks, and keeps at most
    /// <paramref name="maxInFlight"/> chunks at a silo's import worker (<see cref="ICustomerImportGrain"/>);
    /// <see cref="AddAsync"/> waits when they are all busy (backpressure on the request body).</summary>
    private sealed class BatchSender(IClusterClient cluster, ImportJob job, bool createIfMissing, int maxInFlight) : IDisposable
    {
        public void Dispose() => _slots.Dispose();

        private readonly SemaphoreSlim _slots = new(maxInFlight);
        private readonly List<Task> _running = [];
        private readonly List<(long Line, CustomerEvent Event)> _pending = [];
        private readonly List<Item> _chunk = [];
        private int _chunkEvents;
        private string? _customer;

        public async Task AddAsync(long line, string customerId, CustomerEvent e)
        {
            if (_customer != customerId || _pending.Count >= MaxEventsPerCall)
            {
                await CloseItemAsync();
                _customer = customerId;
            }

            _pending.Add((line, e));
        }

        public async Task FlushAsync()
        {
            await CloseItemAsync();
            await SendChunkAsync();
            await DrainAsync();
        }

        public Task DrainAsync() => Task.WhenAll(_running);

        private async Task CloseItemAsync()
        {
            if (_pending.Count == 0)
            {
                return;
            }

            _chunk.Add(new Item(_customer!, [.. _pending]));
            _chunkEvents += _pending.Count;
            _pending.Clear();
            if (_chunk.Count >= MaxCustomersPerChunk || _chunkEvents >= MaxEventsPerChunk)
            {
                await SendChunkAsync();
            }
        }

        private async Task SendChunkAsync()
        {
            if (_chunk.Count == 0)
            {
                return;
            }

            var chunk = _chunk.ToArray();
            _chunk.Clear();
            _chunkEvents = 0;
            await _slots.WaitAsync();
            _running.RemoveAll(t => t.IsCompleted);
            _running.Add(SendAsync(chunk));
        }

        private async Task SendAsync(Item[] chunk)
        {
            try
            {
                var left = chunk;
                for (var attempt = 1; left.Length > 0; attempt++)
                {
                    var outcomes = await RecordAsync(left);
                    var unanswered = new List<Item>();
                    for (var i = 0; i < left.Length; i++)
                    {
                        var (item, outcome) = (left[i], outcomes?[i]);
                        if (outcome is null || outcome.Unanswered)
                        {
                            unanswered.Add(item);
                        }
                        else if (outcome.Field is { } field)
                        {
                            foreach (var (line, _) in item.Rows)
                            {
                                job.Reject(line, field, outcome.Problem ?? "refused");
                            }
                        }
                        else
                        {
                            job.Done(outcome.Imported, outcome.Duplicates);
                        }
                    }

                    left = [.. unanswered];
                    if (left.Length > 0 && attempt == MaxAttempts)
                    {
                        foreach (var item in left)
                        {
                            foreach (var (line, _) in item.Rows)
                            {
                                job.Reject(line, "customerId", $"the cluster did not answer for customer '{item.CustomerId}' after {MaxAttempts} tries; importing the file again adds only what is missing");
                            }
                        }

                        return;
                    }

                    if (left.Length > 0)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(250 * (1 << attempt)));
                    }
                }
            }
            finally
            {
                _slots.Release();
            }
        }

        /// <summary>One try of a chunk; null when the cluster did not answer (event ids come from the rows, so a chunk
        /// the try did store comes back as duplicates when sent again, never twice).</summary>
        private async Task<ImportItemOutcome[]?> RecordAsync(Item[] items)
        {
            try
            {
                return await cluster.GetGrain<ICustomerImportGrain>(0)
                    .RecordAsync([.. items.Select(i => new ImportItem(i.CustomerId, [.. i.Rows.Select(r => r.Event)]))], createIfMissing);
            }
            catch (Exception e) when (e is TimeoutException or SiloUnavailableException or OrleansMessageRejectionException or Orleans.Runtime.Messaging.ConnectionFailedException or CustomerStorageException)
            {
                return null;
            }
        }

        private sealed record Item(string CustomerId, (long Line, CustomerEvent Event)[] Rows);
    }

    private sealed class HeaderProblemException(string message) : Exception(message);
}
