using Orleans.TestingHost;
using OrleansCrm.Api;

namespace OrleansCrm.Tests.Cluster;

/// <summary>The record behind <c>Idempotency-Key</c>, on a two-silo cluster with real storage: one claim at a time,
/// the kept answer survives the activation, a released claim can be taken again.</summary>
[Collection(SqliteClusterCollection.Name)]
public sealed class IdempotencyGrainTests(SqliteClusterFixture fixture)
{
    private TestCluster Cluster => fixture.Cluster;

    private IIdempotencyGrain NewKey(string principal = "agent-1") =>
        Cluster.Client.GetGrain<IIdempotencyGrain>(IdempotencyKeys.GrainKey(principal, "key-" + Guid.NewGuid().ToString("N")));

    [Fact]
    public async Task A_key_in_use_is_running_for_a_second_request_and_its_answer_is_kept_once_completed()
    {
        var key = NewKey();
        var first = await key.BeginAsync();
        var second = await key.BeginAsync();

        Assert.Equal(IdempotencyStatus.Started, first.Status);
        Assert.Equal(IdempotencyStatus.Running, second.Status);

        var answer = new KeptResponse(200, "application/json", [1, 2, 3]);
        await key.CompleteAsync(first.Attempt, "HASH", answer);
        var third = await key.BeginAsync();
        Assert.Equal(IdempotencyStatus.Completed, third.Status);
        Assert.Equal("HASH", third.RequestHash);
        Assert.Equal(200, third.Response!.StatusCode);
        Assert.Equal([1, 2, 3], third.Response.Body);
    }

    [Fact]
    public async Task A_released_key_can_be_claimed_again_and_a_stale_attempt_cannot_complete_it()
    {
        var key = NewKey();
        var first = await key.BeginAsync();
        await key.ReleaseAsync(first.Attempt);
        var retry = await key.BeginAsync();
        Assert.Equal(IdempotencyStatus.Started, retry.Status);

        await key.CompleteAsync(first.Attempt, "STALE", new KeptResponse(500, null, []));
        Assert.Equal(IdempotencyStatus.Running, (await key.BeginAsync()).Status);
        await key.CompleteAsync(retry.Attempt, "FRESH", new KeptResponse(201, "application/json", [9]));
        Assert.Equal("FRESH", (await key.BeginAsync()).RequestHash);
    }

    [Fact]
    public void Principals_and_keys_never_share_a_record()
    {
        Assert.NotEqual(IdempotencyKeys.GrainKey("a:b", "c"), IdempotencyKeys.GrainKey("a", "b:c"));
    }
}
