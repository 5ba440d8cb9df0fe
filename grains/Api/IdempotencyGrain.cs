using OrleansCrm.Api;

namespace OrleansCrm.Api;

/// <summary>
/// One caller's idempotency key. A request in progress is held in memory only (a silo that dies mid-request loses
/// the claim, and a retry then runs again; the effects below — event ids, action keys — are idempotent themselves);
/// a finished answer is stored before the caller is answered and removed by a reminder when it expires.
/// </summary>
[GrainType("idempotency")]
public sealed class IdempotencyGrain(
    [PersistentState("idempotency", StorageNames.Crm)] IPersistentState<IdempotencyState> state,
    IKeptAnswerIndex subjects,
    TimeProvider clock) : Grain, IIdempotencyGrain, IRemindable
{
    private const string ExpiryReminder = "expire";

    private Guid _attempt;
    private DateTimeOffset _startedAt;

    public async Task<IdempotencyClaim> BeginAsync()
    {
        var now = clock.GetUtcNow();
        if (state.State.Response is { } kept && state.State.ExpiresAt > now)
        {
            return new IdempotencyClaim(IdempotencyStatus.Completed, Guid.Empty, state.State.RequestHash, kept);
        }

        if (_attempt != Guid.Empty && now - _startedAt < IdempotencyKeys.AbandonedAfter)
        {
            return new IdempotencyClaim(IdempotencyStatus.Running, Guid.Empty, null, null);
        }

        if (state.State.Response is not null)
        {
            // Expired: forget it before the key is used again.
            var about = state.State.AboutCustomers;
            await state.ClearStateAsync();
            if (about)
            {
                await subjects.RemoveKeyAsync(this.GetPrimaryKeyString());
            }
        }

        _attempt = Guid.NewGuid();
        _startedAt = now;
        DelayDeactivation(IdempotencyKeys.AbandonedAfter);
        return new IdempotencyClaim(IdempotencyStatus.Started, _attempt, null, null);
    }

    public Task CompleteAsync(Guid attempt, string requestHash, KeptResponse response) => CompleteAsync(attempt, requestHash, response, []);

    public async Task CompleteAsync(Guid attempt, string requestHash, KeptResponse response, string[] customerIds)
    {
        if (attempt != _attempt || attempt == Guid.Empty)
        {
            return;
        }

        var expiresAt = clock.GetUtcNow() + IdempotencyKeys.Retention;
        if (customerIds.Length > 0)
        {
            // Noted before the answer is stored: an erasure that runs in between then finds it, never misses it.
            await subjects.AddAsync(this.GetPrimaryKeyString(), customerIds, expiresAt);
            state.State.AboutCustomers = true;
        }

        state.State.RequestHash = requestHash;
        state.State.Response = response;
        state.State.ExpiresAt = expiresAt;
        await state.WriteStateAsync();
        _attempt = Guid.Empty;
        await this.RegisterOrUpdateReminder(ExpiryReminder, IdempotencyKeys.Retention, IdempotencyKeys.Retention);
    }

    public async Task ForgetAsync()
    {
        if (state.RecordExists)
        {
            await state.ClearStateAsync();
        }

        await subjects.RemoveKeyAsync(this.GetPrimaryKeyString());
        if (await this.GetReminder(ExpiryReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    public Task ReleaseAsync(Guid attempt)
    {
        if (attempt == _attempt)
        {
            _attempt = Guid.Empty;
        }

        return Task.CompletedTask;
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (state.State.Response is not null && state.State.ExpiresAt > clock.GetUtcNow())
        {
            return;
        }

        var about = state.State.AboutCustomers;
        if (state.RecordExists)
        {
            await state.ClearStateAsync();
        }

        if (about)
        {
            await subjects.RemoveKeyAsync(this.GetPrimaryKeyString());
        }

        if (await this.GetReminder(ExpiryReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }

        DeactivateOnIdle();
    }
}

[GenerateSerializer, Alias("crm.IdempotencyState")]
public sealed class IdempotencyState
{
    [Id(0)] public string? RequestHash { get; set; }
    [Id(1)] public KeptResponse? Response { get; set; }
    [Id(2)] public DateTimeOffset ExpiresAt { get; set; }

    /// <summary>The answer is noted in <see cref="IKeptAnswerIndex"/> (its notes go when it expires).</summary>
    [Id(3)] public bool AboutCustomers { get; set; }
}
