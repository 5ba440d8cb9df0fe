using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.Kiota.Abstractions.Serialization;
using OrleansCrm.Access;
using OrleansCrm.Client;
using OrleansCrm.Client.Generated.Models;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Gateway;

/// <summary>
/// An integrator's work through the typed client (<c>clients/dotnet</c>, generated from the contract the gateway
/// serves): customers, events one by one and in NDJSON batches, a file import, problems as typed errors, retries
/// answered once, and the actions a campaign fires, read from the feed and received by a signed webhook. A change of
/// the gateway that the contract does not describe fails here.
/// </summary>
[Collection(EmbeddedCrmCollection.Name)]
public sealed class IntegratorClientTests(EmbeddedCrmFixture crm)
{
    /// <summary>Deliveries go oldest first, so actions other tests of this CRM left pending come before this test's.</summary>
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    private CrmClient Admin() => CrmClient.WithApiKey(crm.Gateway, TestAuth.AdminKey);

    private async Task<CrmClient> IntegratorAsync()
    {
        using var admin = Admin();
        var key = await admin.V1.ApiKeys.PostAsync(new NewKey { Name = "integration " + Guid.NewGuid().ToString("N")[..6], Roles = [Roles.Integrator], OrgUnit = "" });
        return CrmClient.WithApiKey(crm.Gateway, key!.Secret!);
    }

    private static EventEnvelope Purchase(string customerId, string eventId, double amount) => new()
    {
        CustomerId = customerId, EventId = eventId, Type = "purchase", OccurredAt = DateTimeOffset.UtcNow.AddHours(-1), Channel = "web",
        Data = new EventData { Amount = amount },
    };

    [Fact]
    public async Task An_integrator_pushes_customers_events_and_a_file_and_reads_them_back_through_the_typed_client()
    {
        var run = "ic" + Guid.NewGuid().ToString("N")[..6];
        using var client = await IntegratorAsync();

        // A customer, and one event for it.
        var created = await client.V1.Customers[$"{run}-0"].PutAsync(new CustomerProfile { FirstName = "Ada", LastName = "Lovelace", Email = $"{run}@example.com", Tags = [run] });
        var one = await client.V1.Customers[$"{run}-0"].Events.PostAsync(Purchase($"{run}-0", "first", 10));
        Assert.Equal($"{run}-0", created!.CustomerId);
        Assert.False(one!.Acks![0].Duplicate);

        // 2,500 events of 50 customers in NDJSON batches of 1,000 lines; sent again, every one is a duplicate.
        var events = Enumerable.Range(0, 2_500).Select(i => Purchase($"{run}-{i % 50}", $"b{i}", 1 + (i % 7))).ToList();
        var batches = await client.PostEventsAsync(events, createIfMissing: true);
        var again = await client.PostEventsAsync(events, createIfMissing: true);
        Assert.Equal([1_000, 1_000, 500], batches.Select(b => b.Events!.Value));
        Assert.Equal(2_500, batches.Sum(b => b.Accepted!.Value));
        Assert.All(batches, b => Assert.Empty(b.Refused!));
        Assert.Equal(2_500, again.Sum(b => b.Duplicates!.Value));

        // A CSV file of two new customers, through the generated import operation.
        var csv = $"ID,first_name,mail\n{run}-f1,Grace,{run}-f1@example.com\n{run}-f2,Alan,{run}-f2@example.com\n";
        using var file = new MemoryStream(Encoding.UTF8.GetBytes(csv));
        var import = await client.V1.Imports.Customers.PostAsync(file, "text/csv", c => c.QueryParameters.Mapping = "customerId=ID,firstName=first_name,email=mail");
        Assert.Equal(2, import!.RowsImported);
        Assert.Equal(0, import.RowsRejected);

        // What the screens and the next integration read back.
        var view = await client.V1.Customers[$"{run}-0"].GetAsync();
        var imported = await client.V1.Customers[$"{run}-f2"].GetAsync();
        Assert.Equal("Ada", view!.FirstName);
        Assert.Equal(1 + 50, view.Transactions!.PurchaseCount);
        Assert.Equal(10 + Enumerable.Range(0, 2_500).Where(i => i % 50 == 0).Sum(i => 1 + (i % 7)), view.Transactions.PurchaseTotal);
        Assert.Equal("Alan", imported!.FirstName);
    }

    [Fact]
    public async Task A_refused_request_reaches_the_caller_as_a_problem_naming_the_field_and_a_foreign_one_as_not_found()
    {
        using var client = await IntegratorAsync();
        var id = "icp" + Guid.NewGuid().ToString("N")[..6];
        await client.V1.Customers[id].PutAsync(new CustomerProfile { FirstName = "Bad" });

        var invalid = await Assert.ThrowsAsync<HttpValidationProblemDetails>(() => client.V1.Customers[id].Events.PostAsync(new EventEnvelope
        {
            EventId = "no-amount", Type = "purchase", OccurredAt = DateTimeOffset.UtcNow, Data = new EventData(),
        }));
        var missing = await Assert.ThrowsAsync<Problem>(() => client.V1.Customers[id + "-missing"].GetAsync());
        using var anonymous = CrmClient.Anonymous(crm.Gateway);
        var unauthenticated = await Assert.ThrowsAsync<Problem>(() => anonymous.V1.Customers[id].GetAsync());

        Assert.Equal(400, invalid.ResponseStatusCode);
        Assert.Contains("data.amount", invalid.Errors!.AdditionalData.Keys);
        Assert.Equal(404, missing.ResponseStatusCode);
        Assert.Equal(401, unauthenticated.ResponseStatusCode);
        Assert.False(string.IsNullOrEmpty(unauthenticated.TraceId));
    }

    [Fact]
    public async Task A_post_sent_twice_with_one_idempotency_key_is_answered_once()
    {
        using var client = await IntegratorAsync();
        var id = "ick" + Guid.NewGuid().ToString("N")[..6];
        await client.V1.Customers[id].PutAsync(new CustomerProfile { FirstName = "Keep" });

        // The same event twice under one key, as a client that lost the first answer sends it: the second is the first
        // answer replayed (the event new, not a duplicate), and the customer holds the event once.
        var headers = new List<IDictionary<string, IEnumerable<string>>>();
        var purchase = Purchase(id, "once", 20);
        async Task<RecordOutcome?> PostAsync()
        {
            var inspect = new Microsoft.Kiota.Http.HttpClientLibrary.Middleware.Options.HeadersInspectionHandlerOption { InspectResponseHeaders = true };
            var result = await client.V1.Customers[id].Events.PostAsync(purchase, c =>
            {
                c.Headers.Add(IdempotencyKeyHandler.Header, "purchase-" + id);
                c.Options.Add(inspect);
            });
            headers.Add(inspect.ResponseHeaders);
            return result;
        }

        var first = await PostAsync();
        var second = await PostAsync();
        var view = await client.V1.Customers[id].GetAsync();

        Assert.False(first!.Acks![0].Duplicate);
        Assert.Equal((first.Acks[0].Sequence, false), (second!.Acks![0].Sequence, second.Acks[0].Duplicate == true));
        Assert.False(headers[0].ContainsKey("Idempotent-Replayed"));
        Assert.Equal(["true"], headers[1]["Idempotent-Replayed"]);
        Assert.Equal(1, view!.Transactions!.PurchaseCount);
    }

    [Fact]
    public async Task Campaign_actions_reach_the_integrator_from_the_feed_page_by_page_and_by_a_signed_webhook()
    {
        const string Secret = "integrator-webhook-secret-0123";
        var run = "icw" + Guid.NewGuid().ToString("N")[..6];
        using var admin = Admin();
        using var client = await IntegratorAsync();
        var port = Ports.Free();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/hook/");
        listener.Start();
        var received = new ConcurrentDictionary<string, CampaignAction>();
        var forged = 0;
        var unsigned = 0;
        using var stop = new CancellationTokenSource();
        var receiver = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var context = await listener.GetContextAsync().WaitAsync(stop.Token);
                try
                {
                    using var body = new MemoryStream();
                    await context.Request.InputStream.CopyToAsync(body);
                    var bytes = body.ToArray();
                    var signature = context.Request.Headers[WebhookSignature.Header];
                    // A body changed on the way is refused by the same check.
                    var tampered = bytes.Length > 0 ? [.. bytes[..^1], (byte)(bytes[^1] ^ 1)] : bytes;
                    if (WebhookSignature.IsValid(Secret, tampered, signature))
                    {
                        Interlocked.Increment(ref forged);
                    }

                    var action = await WebhookSignature.ReadAsync(Secret, bytes, signature);
                    if (action.CampaignId == run)
                    {
                        received[action.IdempotencyKey!] = action;
                    }

                    context.Response.StatusCode = 200;
                }
                catch (InvalidDataException)
                {
                    // Not signed with this test's secret: counted, and refused as a receiver would.
                    Interlocked.Increment(ref unsigned);
                    context.Response.StatusCode = 401;
                }

                context.Response.Close();
            }
        });

        try
        {
            var ids = Enumerable.Range(0, 7).Select(i => $"{run}-{i}").ToArray();
            foreach (var id in ids)
            {
                await client.V1.Customers[id].PutAsync(new CustomerProfile { FirstName = "W" + id[^1], Tags = [run] });
                await client.V1.Customers[id].Events.PostAsync(new EventEnvelope
                {
                    EventId = "consent", Type = "consent.changed", OccurredAt = DateTimeOffset.UtcNow.AddMinutes(-5), Channel = "email",
                    Data = new EventData { Purpose = "marketing", Granted = true },
                });
            }

            await admin.V1.Webhook.PutAsync(new WebhookSettings { Url = $"http://127.0.0.1:{port}/hook/", Secret = Secret });
            await admin.V1.Segments[run].PutAsync(new SegmentRequest { Name = run, Expression = $"tags contains \"{run}\"" });
            await Poll.UntilAsync(async () => (await admin.V1.Segments[run].GetAsync())!.Backfill!.Finished == true, Deadline, "segment backfill");
            await admin.V1.Campaigns[run].PutAsync(new CampaignDefinition
            {
                Name = run, Type = "single", Segments = [run], Channels = ["email"],
                // A map of templates is free-form in the generated model (the generator types no additionalProperties).
                Templates = new CampaignDefinition_templates
                {
                    AdditionalData = { ["email"] = new UntypedObject(new Dictionary<string, UntypedNode> { ["subject"] = new UntypedString("Hi"), ["body"] = new UntypedString("Hello {{ customer.firstName }}") }) },
                },
                Policy = new ContactPolicySettings { QuietFromHour = 0, QuietToHour = 0 },
            });
            await admin.V1.Campaigns[run].Launch.PostAsync();

            // The feed, three actions a page, from the start; the last page's cursor is where to go on from.
            var fromFeed = await Poll.UntilAsync(async () =>
            {
                var actions = new List<CampaignAction>();
                await foreach (var page in client.ReadActionPagesAsync(campaignId: run, limit: 3))
                {
                    Assert.InRange(page.Actions!.Count, 1, 3);
                    actions.AddRange(page.Actions);
                }

                return actions.Count == ids.Length ? actions : null;
            }, Deadline, "every action in the feed");
            await Poll.UntilAsync(() => Task.FromResult(received.Count == ids.Length), Deadline, "every action at the webhook");

            Assert.Equal(ids.Order(StringComparer.Ordinal), fromFeed.Select(a => a.CustomerId!).Order(StringComparer.Ordinal));
            Assert.Equal(fromFeed.Select(a => a.IdempotencyKey!).Order(StringComparer.Ordinal), received.Keys.Order(StringComparer.Ordinal));
            Assert.All(received.Values, a => Assert.StartsWith("Hello W", a.Body, StringComparison.Ordinal));
            Assert.Equal(0, forged);
            Assert.Equal(0, unsigned);
        }
        finally
        {
            await admin.V1.Webhook.PutAsync(new WebhookSettings { Url = $"http://127.0.0.1:{port}/hook/", Secret = Secret, Enabled = false });
            await stop.CancelAsync();
            listener.Stop();
            await receiver.ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }
}
