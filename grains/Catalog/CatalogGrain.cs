namespace OrleansCrm.Catalog;

[GenerateSerializer, Alias("crm.CatalogState")]
public sealed class CatalogState
{
    [Id(0)] public long Version { get; set; }
    [Id(1)] public string Json { get; set; } = "";
    [Id(2)] public DateTimeOffset UpdatedAt { get; set; }
}

[GrainType("catalog")]
public sealed class CatalogGrain(
    [PersistentState("catalog", StorageNames.Crm)] IPersistentState<CatalogState> state,
    TimeProvider clock) : Grain, ICatalogGrain
{
    public Task<CatalogDocument> GetAsync() => Task.FromResult(Document());

    public Task<long> GetVersionAsync() => Task.FromResult(state.State.Version);

    public async Task<CatalogDocument> PutAsync(string json, long? expectedVersion)
    {
        if (expectedVersion is { } expected && expected != state.State.Version)
        {
            throw new CatalogConflictException($"the {this.GetPrimaryKeyString()} are at version {state.State.Version}, not {expected}; reload and apply the change again");
        }

        if (json == state.State.Json)
        {
            return Document();
        }

        state.State.Version++;
        state.State.Json = json;
        state.State.UpdatedAt = clock.GetUtcNow();
        await state.WriteStateAsync();
        return Document();
    }

    private CatalogDocument Document() => new(this.GetPrimaryKeyString(), state.State.Version, state.State.Json, state.State.UpdatedAt);
}
