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

    public async Task<bool> ReleaseAsync(string[] customerIds)
    {
        if (state.State.Holders.RemoveAll(customerIds.Contains) == 0)
        {
            return false;
        }

        if (state.State.Holders.Count == 0)
        {
            // The grain key is the contact point itself: only deleting the row (DeleteStateOnClear) forgets it.
            await state.ClearStateAsync();
        }
        else
        {
            await state.WriteStateAsync();
        }

        return true;
    }

    public Task<string[]> GetHoldersAsync() => Task.FromResult<string[]>([.. state.State.Holders]);
}
