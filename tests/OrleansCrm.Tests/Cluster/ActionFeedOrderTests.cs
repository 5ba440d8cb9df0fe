using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Orleans.TestingHost;
using OrleansCrm.Campaigns;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Cluster;

/// <summary>The pull feed on PostgreSQL, where transactions commit in any order: a cursor must never move past an
/// action that is still being written.</summary>
[Collection(PostgresClusterCollection.Name)]
public sealed class ActionFeedOrderTests(PostgresClusterFixture fixture)
{
    [Fact]
    public async Task The_feed_never_passes_an_action_whose_transaction_commits_late()
    {
        var services = fixture.Cluster.GetActiveSilos().OfType<InProcessSiloHandle>().First().SiloHost!.Services;
        var store = services.GetRequiredService<ICampaignActionStore>();
        var serviceId = services.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId;
        var run = "fo" + Guid.NewGuid().ToString("N")[..6];

        // A slow writer takes its release number first and commits last.
        await using var slow = new NpgsqlConnection(fixture.Database.ConnectionString);
        await slow.OpenAsync();
        await using var transaction = await slow.BeginTransactionAsync();
        await using (var insert = new NpgsqlCommand(
            """
            INSERT INTO crm_campaign_actions (service_id, idempotency_key, campaign_id, step_id, customer_id, channel, body, html, created_at, delivery_state, attempts, release_tx, release_seq)
            VALUES (@s, @k, @c, 's', 'slow', 'email', 'b', false, now(), 'pending', 0, pg_current_xact_id()::text::bigint, nextval('crm_campaign_action_release'))
            """,
            slow,
            transaction))
        {
            insert.Parameters.AddWithValue("s", serviceId);
            insert.Parameters.AddWithValue("k", $"{run}/slow");
            insert.Parameters.AddWithValue("c", run);
            await insert.ExecuteNonQueryAsync();
        }

        await store.AddAsync(new CampaignAction(0, $"{run}/fast", run, "s", "fast", "email", null, "b", false, null, DateTimeOffset.UtcNow, "pending"));
        var during = await store.ReadAsync(FeedCursor.Start, 100, run);
        await transaction.CommitAsync();
        var after = await Poll.UntilAsync(
            async () => await store.ReadAsync(during.Next, 100, run) is { Actions.Length: 2 } page ? page : null,
            TimeSpan.FromSeconds(30),
            "both actions in the feed");

        Assert.Empty(during.Actions);
        Assert.Equal(["slow", "fast"], after.Actions.Select(a => a.CustomerId).ToArray());
    }
}
