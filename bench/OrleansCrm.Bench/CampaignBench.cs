using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using Npgsql;
using OrleansCrm.Bench.Suite;
using OrleansCrm.Campaigns;
using OrleansCrm.Customers;
using OrleansCrm.Hosting.Configuration;
using OrleansCrm.Segments;

namespace OrleansCrm.Bench;

/// <summary>
/// <c>--scenario campaign</c>: N customers (profile with a tag, e-mail consent for 90%) bulk-loaded into the log, a
/// segment of all of them backfilled, then a single-step e-mail campaign with a 10% control group launched through the
/// gateway; reports the time until every customer has decided and the rate of decisions and actions, and checks the
/// action count against the seed.
/// </summary>
public sealed record CampaignReport(string Markdown, CampaignFigures Figures);

public static class CampaignBench
{
    public static async Task<CampaignReport> RunAsync(BenchNode node, int customers)
    {
        if (node.Storage.Kind != StorageKind.Postgres)
        {
            throw new InvalidOperationException("the campaign scenario bulk-loads with PostgreSQL COPY: pass --postgres");
        }

        Console.Error.WriteLine($"Loading {customers:N0} customers...");
        await SeedAsync(node, customers);
        var backfill = Stopwatch.StartNew();
        using (var put = await node.Http.PutAsJsonAsync(new Uri("/api/v1/segments/bench-all", UriKind.Relative), new { name = "all", expression = "tags contains \"bench\"" }))
        {
            put.EnsureSuccessStatusCode();
        }

        while (!(await node.Grains.GetGrain<ISegmentBackfillGrain>("bench-all").GetProgressAsync()).Finished)
        {
            await Task.Delay(100);
        }

        backfill.Stop();
        Console.Error.WriteLine($"Segment backfilled in {backfill.Elapsed.TotalSeconds:0.0} s; launching...");
        var definition = new CampaignDefinition("Bench", CampaignTypes.SingleStep, ["bench-all"], Channels: ["email"],
            Templates: new() { ["email"] = new MessageTemplate("Hello {{ customer.firstName }}", "<p>Dear {{ customer.firstName }}, {{ campaign.name }}</p>", Html: true) },
            ControlShare: 0.1, Policy: new ContactPolicySettings(QuietFromHour: 0, QuietToHour: 0));
        var campaign = node.Grains.GetGrain<ICampaignGrain>("bench-launch");
        await campaign.DefineAsync(definition);
        var launch = Stopwatch.StartNew();
        await campaign.LaunchAsync();
        CampaignStatus status;
        var lastReport = TimeSpan.Zero;
        while ((status = (await campaign.GetStatusAsync())!).State != CampaignStates.Completed)
        {
            if (launch.Elapsed - lastReport > TimeSpan.FromSeconds(30))
            {
                lastReport = launch.Elapsed;
                Console.Error.WriteLine($"  {status.Targeted:N0} decided after {launch.Elapsed.TotalSeconds:0} s");
            }

            await Task.Delay(50);
        }

        launch.Stop();
        var expected = Enumerable.Range(0, customers).Count(i => i % 10 != 0 && !ContactPolicy.InControlGroup("bench-launch", CustomerId(i), 0.1));
        await using var connection = new NpgsqlConnection(node.Storage.ConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM crm_campaign_actions WHERE campaign_id = 'bench-launch'", connection);
        var actions = (long)(await count.ExecuteScalarAsync())!;

        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"# Campaign launch — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Machine: {BenchNode.Machine}. Storage: PostgreSQL on the same machine ({await SegmentBench.ServerSettingsAsync(node)}). One silo in the bench process.");
        sb.AppendLine(CultureInfo.InvariantCulture, $"{customers:N0} customers bulk-loaded into the log (90% with e-mail consent), one segment of all of them (backfilled in {backfill.Elapsed.TotalSeconds:0} s), a single-step HTML e-mail campaign with a 10% control group.");
        sb.AppendLine();
        sb.AppendLine("| customers decided | time to decide all (s) | decisions/s | actions | actions/s | expected actions | suppressed | held out |");
        sb.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| {status.Targeted:N0} | {launch.Elapsed.TotalSeconds:0.0} | {status.Targeted / launch.Elapsed.TotalSeconds:0} | {actions:N0} | {actions / launch.Elapsed.TotalSeconds:0} | {expected:N0} | {status.Suppressed.Values.Sum():N0} | {status.HeldOut:N0} |");
        return new CampaignReport(sb.ToString(), new CampaignFigures(
            customers, backfill.Elapsed.TotalSeconds, status.Targeted, launch.Elapsed.TotalSeconds, status.Targeted / launch.Elapsed.TotalSeconds,
            actions, expected, actions / launch.Elapsed.TotalSeconds));
    }

    private static string CustomerId(int i) => "k" + i.ToString("D7", CultureInfo.InvariantCulture);

    private static Task SeedAsync(BenchNode node, int customers)
    {
        var now = DateTimeOffset.UtcNow;
        return LogSeeder.SeedAsync(node, customers, i => (CustomerId(i),
        [
            new CustomerEvent("p", CustomerEventTypes.ProfileChanged, now.AddDays(-30), "bench", null, new EventData(Profile: new CustomerProfile("First" + i, Tags: ["bench"]))),
            new CustomerEvent("c", CustomerEventTypes.ConsentChanged, now.AddDays(-20), "bench", "email", new EventData(Purpose: "marketing", Granted: i % 10 != 0)),
        ]));
    }
}
