namespace OrleansCrm.Customers;

[GenerateSerializer, Alias("crm.ContactIndexState")]
public sealed class ContactIndexState
{
    /// <summary>Customers holding this contact point, the first claimant first.</summary>
    [Id(0)] public List<string> Holders { get; set; } = [];
}

/// <summary>The holders of one normalised contact point. A second holder is kept and reported, never replacing the first.</summary>
[GrainType("contact-index")]
public sealed class ContactIndexGrain(
    [PersistentState("contactindex", StorageNames.Crm)] IPersistentState<ContactIndexState> state) : Grain, IContactIndexGrain
{
    public async Task<string[]> ClaimAsync(string customerId)
    {
        if (!state.State.Holders.Contains(customerId))
        {
            state.State.Holders.Add(customerId);
            await state.WriteStateAsync();
        }

        return [.. state.State.Holders];
    }

    public async Task<string[]> ReassignAsync(string fromCustomerId, string toCustomerId)
    {
        var holders = state.State.Holders;
        var index = holders.IndexOf(fromCustomerId);
        var changed = false;
        if (index >= 0)
        {
            holders.RemoveAt(index);
            if (!holders.Contains(toCustomerId))
            {
                holders.Insert(index, toCustomerId);
            }

            changed = true;
        }
        else if (!holders.Contains(toCustomerId))
        {
            holders.Add(toCustomerId);
            changed = true;
        }

        if (changed)
        {
            await state.WriteStateAsync();
        }

        return [.. holders];
    }

    public async Task<string[]> ReleaseAsync(string customerId)
    {
        if (state.State.Holders.Remove(customerId))
        {
            await state.WriteStateAsync();
        }

        return [.. state.State.Holders];
    }

    public Task<string[]> GetHoldersAsync() => Task.FromResult<string[]>([.. state.State.Holders]);
}
