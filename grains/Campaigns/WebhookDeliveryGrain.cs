using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansCrm.Catalog;
using OrleansCrm.Decisions;

namespace OrleansCrm.Campaigns;

/// <summary>
/// The webhook sender. Delivery is at least once: an action whose POST succeeded but whose "delivered" mark was lost
/// in a crash is sent again, with the same <c>Idempotency-Key</c>, so the receiver can drop the repeat. Actions
/// themselves are emitted once (docs/campaigns.md).
/// </summary>
[GrainType("webhook-delivery")]
public sealed class WebhookDeliveryGrain(ICampaignActionStore store, TimeProvider clock, IHostApplicationLifetime lifetime, ILogger<WebhookDeliveryGrain> logger) : Grain, IWebhookDeliveryGrain, IRemindable
{
    public const int MaxAttempts = 10;
    private const int Batch = 100;
    private static readonly HttpClient Http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = TimeSpan.FromSeconds(10) };
    private IGrainTimer? _timer;

    public async Task EnsureRunningAsync()
    {
        await this.RegisterOrUpdateReminder("keep-alive", TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        _timer ??= this.RegisterGrainTimer(cancellation => lifetime.RunUnlessStoppingAsync(() => SendDueAsync(cancellation), logger, "Webhook delivery"), new GrainTimerCreationOptions(TimeSpan.Zero, TimeSpan.FromSeconds(1)) { KeepAlive = true });
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => EnsureRunningAsync();

    private async Task SendDueAsync(CancellationToken cancellation)
    {
        var document = await GrainFactory.GetGrain<ICatalogGrain>(CatalogKinds.Webhook).GetAsync();
        var settings = document.Version == 0 ? null : JsonSerializer.Deserialize<WebhookSettings>(document.Json, DecisionJson.Options);
        if (settings is not { Enabled: true, Url: { } url, Secret: { } secret })
        {
            return;
        }

        foreach (var (action, attempts) in await store.DueForDeliveryAsync(clock.GetUtcNow(), Batch))
        {
            var body = JsonSerializer.Serialize(action, DecisionJson.Options);
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            request.Headers.Add("Idempotency-Key", action.IdempotencyKey);
            request.Headers.Add("X-Crm-Signature", "sha256=" + Sign(secret, body));
            request.Headers.UserAgent.Add(new ProductInfoHeaderValue("OrleansCrm", "1"));
            string? error;
            try
            {
                using var response = await Http.SendAsync(request, cancellation);
                error = response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                error = e.Message;
            }

            var now = clock.GetUtcNow();
            if (error is null)
            {
                await store.RecordDeliveryAsync(action.Sequence, "delivered", attempts + 1, null, now, null);
                continue;
            }

            var tried = attempts + 1;
            var retryIn = TimeSpan.FromSeconds(Math.Min(3600, 2 * Math.Pow(2, tried - 1)));
            logger.LogWarning("Webhook delivery of action {Sequence} failed (attempt {Attempt}): {Error}", action.Sequence, tried, error);
            await store.RecordDeliveryAsync(action.Sequence, tried >= MaxAttempts ? "failed" : "pending", tried, tried >= MaxAttempts ? null : now + retryIn, null, error);
        }
    }

    /// <summary>Lower-case hex HMAC-SHA256 of the body, as receivers recompute it.</summary>
    public static string Sign(string secret, string body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(body)));
}
