using System.Text.Json;
using Microsoft.Extensions.Logging;
using OrleansCrm.Catalog;
using OrleansCrm.Customers;

namespace OrleansCrm.Decisions;

/// <summary>Recomputes RFM quintile thresholds from the log every hour (a reminder survives restarts) and
/// publishes them as the <c>rfm</c> catalog document.</summary>
[GrainType("rfm")]
public sealed class RfmGrain(ICustomerLog log, TimeProvider clock, ILogger<RfmGrain> logger) : Grain, IRfmGrain, IRemindable
{
    private const string ReminderName = "refresh";
    private static readonly double[] Quantiles = [0.2, 0.4, 0.6, 0.8];

    public async Task<RfmThresholds> RefreshAsync()
    {
        var now = clock.GetUtcNow();
        var rows = await log.ReadPurchaseAggregatesAsync(now);
        static double[] Cuts(IEnumerable<double> values)
        {
            var sorted = values.Order().ToArray();
            return sorted.Length == 0 ? [0, 0, 0, 0] : [.. Quantiles.Select(q => sorted[Math.Min(sorted.Length - 1, (int)Math.Floor(q * sorted.Length))])];
        }

        var thresholds = new RfmThresholds(
            Cuts(rows.Select(r => r.RecencyDays)),
            Cuts(rows.Select(r => (double)r.Count)),
            Cuts(rows.Select(r => (double)r.Total)),
            rows.Count,
            now);
        await GrainFactory.GetGrain<ICatalogGrain>(CatalogKinds.Rfm).PutAsync(JsonSerializer.Serialize(thresholds, DecisionJson.Options), null);
        logger.LogInformation("RFM thresholds refreshed over {Customers} customers", rows.Count);
        return thresholds;
    }

    public async Task EnsureScheduledAsync()
    {
        await this.RegisterOrUpdateReminder(ReminderName, TimeSpan.FromMinutes(1), TimeSpan.FromHours(1));
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        // Idempotent: a missed or doubled tick only recomputes the same figures.
        await RefreshAsync();
    }
}
