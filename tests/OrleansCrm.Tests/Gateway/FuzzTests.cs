using System.Collections.Concurrent;
using System.Net;
using System.Text;
using OrleansCrm.Tests.Support;
using Xunit.Abstractions;

namespace OrleansCrm.Tests.Gateway;

/// <summary>
/// Ten thousand hostile requests per run, drawn from a seeded generator (the seed is printed; set CRM_FUZZ_SEED to
/// replay one): valid bodies broken at random (cut, a byte changed, a value swapped for the wrong type, text that is not
/// text, huge numbers and strings, deep nesting), wrong media types and garbage query values, against every endpoint
/// that reads a body or a query (but those whose accepted change would alter what the other tests of the shared process
/// rely on: capacity, the webhook, offers, segment definitions, sign-in throttling). Not one may be answered 5xx, and a customer named only by refused requests must not
/// exist afterwards: a refused request stores nothing.
/// </summary>
[Collection(EmbeddedCrmCollection.Name)]
public sealed class FuzzTests(EmbeddedCrmFixture crm, ITestOutputHelper output)
{
    private const int Requests = 10_000;

    private static readonly string[] Values =
    [
        "null", "true", "0", "-1", "1e400", "-1e400", "9223372036854775808", "1.7976931348623157e309", "\"\"", "\"\\u0000\"", "\"\\ud800\"",
        "\"\\udc00x\"", "[]", "{}", "[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]", "\"{0}{1}}{\"", "\"=cmd|'/c calc'!A1\"", "\"<script>alert(1)</script>\"",
        "\"../../etc/passwd\"", "\"cn/shanghai\"", "\"\"", "\"" + new string('x', 5000) + "\"", "\"2026-13-45T99:99:99Z\"", "\"9999-12-31T23:59:59Z\"",
        "\"0001-01-01T00:00:00Z\"", "\"erasure\"", "\"a/b\"", "\"\\\"\"", "\"\\n\\r\\t\"", "\"😀\"", "\"张伟\"",
    ];

    private static readonly (string Method, string Path, string Body, string ContentType, bool Creates)[] Templates =
    [
        ("PUT", "/api/v1/customers/{id}", """{"firstName":"Ada","lastName":"Lovelace","email":"ada@example.com","phone":"+31 6 12345678","birthDate":"1990-01-01","orgUnit":"nl","attributes":{"tier":"gold"},"tags":["a"],"externalIds":{"erp":"1"}}""", "application/json", true),
        ("POST", "/api/v1/customers/{id}/events?createIfMissing=true", """{"eventId":"e1","type":"purchase","occurredAt":"2026-01-01T00:00:00Z","channel":"web","data":{"amount":10.5,"quantity":1,"productId":"p1"}}""", "application/json", true),
        ("POST", "/api/v1/customers/{id}/events?createIfMissing=true", """{"eventId":"e2","type":"profile.changed","occurredAt":"2026-01-01T00:00:00Z","data":{"profile":{"firstName":"Bo","email":"bo@example.com"}}}""", "application/json", true),
        ("POST", "/api/v1/customers/{id}/events?createIfMissing=true", """{"eventId":"e3","type":"consent.changed","occurredAt":"2026-01-01T00:00:00Z","channel":"email","data":{"purpose":"marketing","granted":true}}""", "application/json", true),
        ("POST", "/api/v1/events?createIfMissing=true", "{\"eventId\":\"b1\",\"customerId\":\"{id}\",\"type\":\"deposit\",\"occurredAt\":\"2026-01-01T00:00:00Z\",\"data\":{\"amount\":100}}\n{\"eventId\":\"b2\",\"customerId\":\"{id}\",\"type\":\"web.visit\",\"occurredAt\":\"2026-01-01T00:00:00Z\",\"channel\":\"web\"}\n", "application/x-ndjson", true),
        ("POST", "/api/v1/imports/customers", "customerId,firstName,email\n{id},Ada,ada@example.com\n", "text/csv", true),
        ("POST", "/api/v1/imports/events?createCustomers=true", "{\"customerId\":\"{id}\",\"eventId\":\"i1\",\"type\":\"purchase\",\"occurredAt\":\"2026-01-01T00:00:00Z\",\"data\":{\"amount\":1}}\n", "application/x-ndjson", true),
        ("POST", "/api/v1/imports/transactions?createCustomers=true&mapping=customerId=cid,occurredAt=at,amount=amt", "cid,at,amt\n{id},2026-01-01T00:00:00Z,5\n", "text/csv", true),
        ("POST", "/api/v1/imports/{id}", "customerId\n{id}\n", "text/csv", false),
        ("POST", "/api/v1/customers/{id}/merge", """{"otherCustomerId":"fz-other"}""", "application/json", false),
        ("POST", "/api/v1/customers/{id}/offers/o1/outcome", """{"outcome":"accepted","channel":"phone","agent":"a1"}""", "application/json", false),
        ("POST", "/api/v1/customers/{id}/erase", """{"reason":"request"}""", "application/json", false),
        ("GET", "/api/v1/customers/{id}/history?limit=10&cursor=abc", "", "", false),
        ("GET", "/api/v1/lookup?email={id}%40example.com", "", "", false),
        ("POST", "/api/v1/segments/preview", """{"expression":"tags contains \"x\" and purchaseTotal > 10","sampleSize":10}""", "application/json", false),
        ("PUT", "/api/v1/campaigns/fz-camp", """{"name":"fuzz","type":"single","segments":["fz-seg"],"channels":["email"],"templates":{"email":{"subject":"Hi","body":"Hello {{ customer.firstName }}"}}}""", "application/json", false),
        ("PUT", "/api/v1/rules/fz-rule", """{"name":"fuzz","enabled":false,"when":{"type":"deposit","conditions":[{"field":"data.amount","op":">","value":5}]},"then":[{"action":"tag","tag":"fz-tag"}]}""", "application/json", false),
        ("POST", "/api/v1/users", """{"login":"fz.user","password":"a fine password 1","roles":["agent"],"orgUnit":"nl"}""", "application/json", false),
        ("GET", "/api/v1/actions?after=0&limit=5", "", "", false),
        ("GET", "/api/v1/audit?limit=5&after=0", "", "", false),
    ];

    [Fact]
    public async Task Ten_thousand_hostile_requests_get_no_5xx_and_store_nothing_when_refused()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("CRM_FUZZ_SEED"), out var given) ? given : Random.Shared.Next();
        output.WriteLine($"fuzz seed {seed} (set CRM_FUZZ_SEED={seed} to replay)");
        var random = new Random(seed);
        var cases = Enumerable.Range(0, Requests).Select(i => Make(random, i)).ToList();

        var serverErrors = new ConcurrentBag<string>();
        var accepted = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        var refused = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        using var http = new HttpClient { BaseAddress = crm.Gateway, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Add("X-Api-Key", TestAuth.AdminKey);
        await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (c, cancellation) =>
        {
            using var request = new HttpRequestMessage(new HttpMethod(c.Method), c.Path);
            if (c.Body is not null)
            {
                request.Content = new ByteArrayContent(c.Body);
                if (c.ContentType.Length > 0)
                {
                    request.Content.Headers.TryAddWithoutValidation("Content-Type", c.ContentType);
                }
            }

            using var response = await http.SendAsync(request, cancellation);
            var status = (int)response.StatusCode;
            if (status >= 500)
            {
                serverErrors.Add($"{c.Method} {c.Path} ({c.Mutation}): {status} {Shorten(await response.Content.ReadAsStringAsync(cancellation))}");
            }

            if (status is >= 200 and < 300)
            {
                // Every id an accepted request names, as sent: a changed character can make one case's id another's.
                foreach (System.Text.RegularExpressions.Match named in System.Text.RegularExpressions.Regex.Matches(c.Path + Encoding.Latin1.GetString(c.Body ?? []), "fz[0-9]{5}"))
                {
                    accepted[named.Value] = true;
                }
            }
            else if (c.Creates)
            {
                refused[c.CustomerId] = $"{c.Method} {c.Path} ({c.Mutation}) answered {status}: {Shorten(Encoding.UTF8.GetString(c.Body ?? []))}";
            }
        });

        Assert.True(serverErrors.IsEmpty, $"seed {seed}: {serverErrors.Count} answers of 5xx:{Environment.NewLine}{string.Join(Environment.NewLine, serverErrors.Take(20))}");

        // Each request names a customer of its own: one refused everywhere was stored nowhere.
        var onlyRefused = refused.Keys.Where(id => !accepted.ContainsKey(id)).ToList();
        var stored = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(onlyRefused, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (id, cancellation) =>
        {
            using var view = await http.GetAsync($"/api/v1/customers/{Uri.EscapeDataString(id)}", cancellation);
            if (view.StatusCode != HttpStatusCode.NotFound && view.StatusCode != HttpStatusCode.BadRequest)
            {
                stored.Add($"{id}: {(int)view.StatusCode} after {refused[id]}");
            }
        });
        Assert.True(stored.IsEmpty, $"seed {seed}: refused requests left customers behind: {string.Join(", ", stored.Take(20))}");
        Assert.True(onlyRefused.Count > 1000, $"seed {seed}: only {onlyRefused.Count} refused requests named a customer; the generator is too gentle");
    }

    private sealed record Case(string Method, string Path, byte[]? Body, string ContentType, bool Creates, string CustomerId, string Mutation);

    private static Case Make(Random random, int i)
    {
        var (method, path, body, contentType, creates) = Templates[random.Next(Templates.Length)];
        var id = $"fz{i:00000}";
        path = path.Replace("{id}", id, StringComparison.Ordinal);
        body = body.Replace("{id}", id, StringComparison.Ordinal);
        var mutation = random.Next(10);
        string text = body;
        string description;
        switch (mutation)
        {
            case 0:
                text = body[..random.Next(body.Length + 1)];
                description = "cut";
                break;
            case 1 when body.Length > 0:
                var at = random.Next(body.Length);
                text = body[..at] + (char)random.Next(0, 0x7f) + body[(at + 1)..];
                description = "one character changed";
                break;
            case 2:
                text = SwapValue(random, body);
                description = "a value of the wrong type or out of range";
                break;
            case 3:
                text = SwapValue(random, SwapValue(random, body));
                description = "two values swapped";
                break;
            case 4:
                contentType = random.Next(3) switch { 0 => "text/plain", 1 => "application/xml", _ => "application/json; charset=utf-16" };
                description = "wrong media type";
                break;
            case 5:
                path += (path.Contains('?') ? "&" : "?") + random.Next(4) switch
                {
                    0 => "createIfMissing=maybe", 1 => "limit=-5", 2 => "after=%FF%FE", _ => "sampleSize=99999999999",
                };
                description = "garbage in the query";
                break;
            case 6:
                text = new string('[', 5000) + new string(']', 5000);
                description = "deep nesting";
                break;
            case 7:
                var bytes = new byte[random.Next(1, 300)];
                random.NextBytes(bytes);
                return new Case(method, path, method == "GET" ? null : bytes, contentType, creates, id, "random bytes");
            case 8:
                text = body.Replace("Ada", "\\ud800Ada", StringComparison.Ordinal).Replace("fuzz", "fu\\u0000zz", StringComparison.Ordinal).Replace("e1", "\\udc00", StringComparison.Ordinal);
                description = "text that is not text";
                break;
            default:
                text = SwapValue(random, body).Replace("\n", random.Next(2) == 0 ? "\r\n" : "\n\n\n", StringComparison.Ordinal);
                description = "a value swapped, line breaks changed";
                break;
        }

        return new Case(method, path, method == "GET" ? null : Encoding.UTF8.GetBytes(text), contentType, creates, id, description);
    }

    /// <summary>One JSON value (after a ':' or in a list) replaced by one of <see cref="Values"/>.</summary>
    private static string SwapValue(Random random, string body)
    {
        var colons = Enumerable.Range(0, body.Length).Where(i => body[i] == ':').ToList();
        if (colons.Count == 0)
        {
            return body + Values[random.Next(Values.Length)];
        }

        var start = colons[random.Next(colons.Count)] + 1;
        var end = start;
        var depth = 0;
        var inString = false;
        for (; end < body.Length; end++)
        {
            var c = body[end];
            if (inString)
            {
                if (c == '\\')
                {
                    end++;
                }
                else if (c == '"')
                {
                    inString = false;
                }

                continue;
            }

            if (c == '"')
            {
                inString = true;
            }
            else if (c is '{' or '[')
            {
                depth++;
            }
            else if (c is '}' or ']')
            {
                if (depth == 0)
                {
                    break;
                }

                depth--;
            }
            else if (c == ',' && depth == 0)
            {
                break;
            }
        }

        return body[..start] + Values[random.Next(Values.Length)] + body[end..];
    }

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + "…";
}
