using System.Globalization;
using Orleans.Serialization;
using Orleans.Storage;
using OrleansCrm.Customers;

namespace OrleansCrm.Silo.Storage;

/// <summary>
/// The <c>crm</c> grain storage: every grain's <c>WriteStateAsync</c> joins the silo's next group commit
/// (<see cref="GroupCommitWriter"/>) instead of a transaction of its own, so a burst of contact-index claims, idempotency
/// records or campaign page cursors from many grains costs one commit. Rows live in <c>crm_grain_state</c>, keyed by
/// state name and grain id text, version-checked like Orleans' own providers (a write over a version it did not read
/// throws <see cref="InconsistentStateException"/>).
/// <para>
/// A state that earlier versions stored in Orleans' ADO.NET grain storage (registered as
/// <see cref="LegacyStorageName"/>) is read from there when this table has none, and moves here with its next write,
/// which removes the old row.
/// </para>
/// </summary>
public sealed class BatchedGrainStorage(GroupCommitWriter writer, Serializer serializer, IServiceProvider services) : IGrainStorage
{
    public const string LegacyStorageName = "crm-legacy";

    private const string LegacyTag = "legacy:";

    private IGrainStorage Legacy => services.GetRequiredKeyedService<IGrainStorage>(LegacyStorageName);

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (await writer.ReadGrainStateAsync(stateName, grainId.ToString()) is { } stored)
        {
            grainState.State = serializer.Deserialize<T>(stored.Payload);
            grainState.ETag = stored.Version.ToString(CultureInfo.InvariantCulture);
            grainState.RecordExists = true;
            return;
        }

        grainState.State = Activator.CreateInstance<T>();
        grainState.ETag = null;
        grainState.RecordExists = false;
        if (await writer.MayHoldLegacyStatesAsync())
        {
            await Legacy.ReadStateAsync(stateName, grainId, grainState);
            if (grainState.RecordExists)
            {
                grainState.ETag = LegacyTag + grainState.ETag;
            }
        }
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var legacyTag = grainState.ETag is { } tag && tag.StartsWith(LegacyTag, StringComparison.Ordinal) ? tag[LegacyTag.Length..] : null;
        var expected = ExpectedVersion(grainState.ETag, legacyTag);
        var version = await writer.WriteGrainStateAsync(new GrainStateWrite(stateName, grainId.ToString(), serializer.SerializeToArray(grainState.State), expected))
            ?? throw new InconsistentStateException($"the state '{stateName}' of {grainId} was written by another activation", grainState.ETag ?? "", "?");
        grainState.ETag = version.ToString(CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
        if (legacyTag is not null)
        {
            // Moved: the old copy (which may hold personal data, e.g. a contact index entry) must not outlive it.
            await Legacy.ClearStateAsync(stateName, grainId, new GrainState<T>(grainState.State) { ETag = legacyTag, RecordExists = true });
        }
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var legacyTag = grainState.ETag is { } tag && tag.StartsWith(LegacyTag, StringComparison.Ordinal) ? tag[LegacyTag.Length..] : null;
        if (legacyTag is not null)
        {
            await Legacy.ClearStateAsync(stateName, grainId, new GrainState<T>(grainState.State) { ETag = legacyTag, RecordExists = true });
        }
        else if (grainState.ETag is not null && !await writer.DeleteGrainStateAsync(stateName, grainId.ToString(), ExpectedVersion(grainState.ETag, null)))
        {
            throw new InconsistentStateException($"the state '{stateName}' of {grainId} was written by another activation", grainState.ETag, "?");
        }

        // A cleared state leaves no row (a contact index entry's key is the e-mail or phone it indexes; docs/privacy.md).
        grainState.State = Activator.CreateInstance<T>();
        grainState.ETag = null;
        grainState.RecordExists = false;
    }

    private static long ExpectedVersion(string? etag, string? legacyTag) =>
        etag is null || legacyTag is not null ? 0 : long.Parse(etag, NumberStyles.None, CultureInfo.InvariantCulture);
}
