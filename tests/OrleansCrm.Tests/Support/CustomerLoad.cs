using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace OrleansCrm.Tests.Support;

/// <summary>
/// A steady load through the HTTP gateway, as screens and integrators make it: workers that each, in turn, read a
/// random customer's view or record a purchase for one (a unique event id per purchase), every request through a
/// <see cref="RetryPolicy"/>. It keeps every acknowledged purchase per customer, so a test can check afterwards that
/// none went missing, and it checks each read against what was acknowledged before the read was sent.
/// Stopping lets every request in progress reach its outcome, so each purchase sent is either acknowledged or counted
/// as given up: never left unknown.
/// </summary>
public sealed class CustomerLoad
{
    private const int MaxProblems = 20;

    private readonly Uri _gateway;
    private readonly IReadOnlyList<string> _customerIds;
    private readonly Dictionary<string, Tally> _tallies;
    private readonly ConcurrentQueue<string> _problems = new();
    private readonly Task[] _workers;
    private volatile bool _stopping;
    private long _completed;
    private long _unexpected;
    private long _staleReads;
    private long _duplicateAcks;

    private CustomerLoad(HttpClient http, Uri gateway, IReadOnlyList<string> customerIds, int workers)
    {
        Policy = new RetryPolicy(http);
        _gateway = gateway;
        _customerIds = customerIds;
        _tallies = customerIds.ToDictionary(id => id, _ => new Tally(), StringComparer.Ordinal);
        _workers = [.. Enumerable.Range(0, workers).Select(w => Task.Run(() => WorkAsync(w)))];
    }

    public RetryPolicy Policy { get; }

    /// <summary>Requests that reached their outcome (an answer, or the policy gave up).</summary>
    public long Completed => Interlocked.Read(ref _completed);

    /// <summary>Outcomes that were not success: a 4xx (a customer not found, say) after the policy.</summary>
    public long Unexpected => Interlocked.Read(ref _unexpected);

    /// <summary>Reads that showed fewer purchases than had been acknowledged before the read was sent.</summary>
    public long StaleReads => Interlocked.Read(ref _staleReads);

    /// <summary>Purchases acknowledged as duplicates: an earlier attempt had been applied though its answer was lost.</summary>
    public long DuplicateAcks => Interlocked.Read(ref _duplicateAcks);

    public long Acknowledged => _tallies.Values.Sum(t => (long)t.Count);

    /// <summary>The first problems seen, described.</summary>
    public IReadOnlyCollection<string> Problems => _problems;

    public static CustomerLoad Start(HttpClient http, Uri gateway, IReadOnlyList<string> customerIds, int workers) =>
        new(http, gateway, customerIds, workers);

    /// <summary>How many purchases of <paramref name="customerId"/> have been acknowledged so far.</summary>
    public int AcknowledgedCount(string customerId) => _tallies[customerId].Count;

    /// <summary>Waits until <paramref name="more"/> further requests have completed: the load keeps getting answers.</summary>
    public async Task RunForAsync(long more, TimeSpan timeout, string what)
    {
        var target = Completed + more;
        await Poll.UntilAsync(() => Task.FromResult(Completed >= target), timeout, $"{more} more requests of the load ({what}); {Policy.Summary()}");
    }

    /// <summary>Stops starting requests and waits for those in progress to reach their outcome.</summary>
    public async Task StopAsync()
    {
        _stopping = true;
        await Task.WhenAll(_workers);
    }

    public string Summary() =>
        $"{Completed} requests completed, {Acknowledged} purchases acknowledged ({DuplicateAcks} as duplicates of a lost answer), " +
        $"{Unexpected} unexpected answers, {StaleReads} stale reads; retry policy: {Policy.Summary()}";

    /// <summary>
    /// Reads every customer's history and view back through the gateway and compares them with what was acknowledged:
    /// every acknowledged purchase is in the history exactly once, the history holds no purchase that was not
    /// acknowledged, and the view's purchase count and total agree. Returns the differences found.
    /// </summary>
    public async Task<IReadOnlyList<string>> CompareWithClusterAsync()
    {
        var differences = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(_customerIds, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (id, token) =>
        {
            var acknowledged = _tallies[id].Purchases.ToDictionary(p => p.EventId, p => p.Amount, StringComparer.Ordinal);
            var logged = await PurchaseHistoryAsync(id);
            if (logged is null)
            {
                differences.Add($"{id}: history could not be read");
                return;
            }

            var repeated = logged.GroupBy(e => e, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
            var missing = acknowledged.Keys.Except(logged, StringComparer.Ordinal).ToList();
            var extra = logged.Except(acknowledged.Keys, StringComparer.Ordinal).ToList();
            if (repeated.Count + missing.Count + extra.Count > 0)
            {
                differences.Add($"{id}: history lacks acknowledged [{string.Join(", ", missing)}], has unacknowledged [{string.Join(", ", extra)}], repeats [{string.Join(", ", repeated)}]");
            }

            using var response = await Policy.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, new Uri(_gateway, $"/api/v1/customers/{id}")), token);
            if (response?.StatusCode != HttpStatusCode.OK)
            {
                differences.Add($"{id}: view answered {response?.StatusCode.ToString() ?? "nothing"}");
                return;
            }

            var transactions = (await response.Content.ReadFromJsonAsync<JsonElement>(token)).GetProperty("transactions");
            var (count, total) = (transactions.GetProperty("purchaseCount").GetInt64(), transactions.GetProperty("purchaseTotal").GetDecimal());
            if (count != acknowledged.Count || total != acknowledged.Values.Sum())
            {
                differences.Add($"{id}: view shows {count} purchases totalling {total}, acknowledged {acknowledged.Count} totalling {acknowledged.Values.Sum()}");
            }
        });
        return [.. differences.OrderBy(d => d, StringComparer.Ordinal)];
    }

    private async Task<List<string>?> PurchaseHistoryAsync(string id)
    {
        var ids = new List<string>();
        string? cursor = null;
        do
        {
            var path = $"/api/v1/customers/{id}/history?limit=500" + (cursor is null ? "" : "&before=" + Uri.EscapeDataString(cursor));
            using var response = await Policy.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, new Uri(_gateway, path)));
            if (response?.StatusCode != HttpStatusCode.OK)
            {
                return null;
            }

            var page = await response.Content.ReadFromJsonAsync<JsonElement>();
            ids.AddRange(page.GetProperty("items").EnumerateArray()
                .Where(i => i.GetProperty("type").GetString() == "purchase")
                .Select(i => i.GetProperty("eventId").GetString()!));
            cursor = page.TryGetProperty("next", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
        }
        while (cursor is not null);
        return ids;
    }

    private async Task WorkAsync(int worker)
    {
        var random = new Random(worker);
        for (var n = 0; !_stopping; n++)
        {
            var id = _customerIds[random.Next(_customerIds.Count)];
            if (n % 2 == 0)
            {
                await ReadAsync(id);
            }
            else
            {
                await PurchaseAsync(id, $"w{worker}-{n}", 10 + (n % 90) + 0.25m);
            }

            Interlocked.Increment(ref _completed);
        }
    }

    private async Task ReadAsync(string id)
    {
        var before = _tallies[id].Count;
        using var response = await Policy.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, new Uri(_gateway, $"/api/v1/customers/{id}")));
        if (response is null)
        {
            return;
        }

        if (response.StatusCode != HttpStatusCode.OK)
        {
            Unexpect($"GET {id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            return;
        }

        var count = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("transactions").GetProperty("purchaseCount").GetInt64();
        if (count < before)
        {
            Interlocked.Increment(ref _staleReads);
            Note($"GET {id}: {count} purchases shown after {before} were acknowledged");
        }
    }

    private async Task PurchaseAsync(string id, string eventId, decimal amount)
    {
        var body = JsonSerializer.Serialize(new
        {
            eventId,
            type = "purchase",
            occurredAt = DateTimeOffset.UtcNow.AddMinutes(-1),
            channel = "web",
            data = new { amount, productId = "sku-load" },
        });
        using var response = await Policy.SendAsync(() => new HttpRequestMessage(HttpMethod.Post, new Uri(_gateway, $"/api/v1/customers/{id}/events"))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        });
        if (response is null)
        {
            return;
        }

        if (response.StatusCode != HttpStatusCode.OK)
        {
            Unexpect($"POST {id} {eventId}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            return;
        }

        var ack = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("acks")[0];
        if (ack.GetProperty("eventId").GetString() != eventId)
        {
            Unexpect($"POST {id} {eventId}: acknowledged {ack}");
            return;
        }

        if (ack.GetProperty("duplicate").GetBoolean())
        {
            Interlocked.Increment(ref _duplicateAcks);
        }

        _tallies[id].Add(eventId, amount);
    }

    private void Unexpect(string problem)
    {
        Interlocked.Increment(ref _unexpected);
        Note(problem);
    }

    private void Note(string problem)
    {
        if (_problems.Count < MaxProblems)
        {
            _problems.Enqueue(string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:HH:mm:ss.fff} {problem}"));
        }
    }

    private sealed class Tally
    {
        private int _count;

        public ConcurrentQueue<(string EventId, decimal Amount)> Purchases { get; } = new();

        public int Count => Volatile.Read(ref _count);

        public void Add(string eventId, decimal amount)
        {
            Purchases.Enqueue((eventId, amount));
            Interlocked.Increment(ref _count);
        }
    }
}
