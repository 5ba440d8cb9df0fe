namespace OrleansCrm.Customers;

[GrainType("customer")]
public sealed class CustomerGrain(
    [PersistentState("customer", StorageNames.Crm)] IPersistentState<CustomerState> state,
    TimeProvider clock) : Grain, ICustomerGrain
{
    public async Task<CustomerView> UpsertProfileAsync(CustomerProfile profile)
    {
        var s = state.State;
        var changed = s.Revision == 0
            || Differs(s.FirstName, profile.FirstName) || Differs(s.LastName, profile.LastName)
            || Differs(s.Email, profile.Email) || Differs(s.Phone, profile.Phone);
        if (!changed)
        {
            return View();
        }

        var now = clock.GetUtcNow();
        if (s.Revision == 0)
        {
            s.CreatedAt = now;
        }

        s.FirstName = profile.FirstName ?? s.FirstName;
        s.LastName = profile.LastName ?? s.LastName;
        s.Email = profile.Email ?? s.Email;
        s.Phone = profile.Phone ?? s.Phone;
        s.UpdatedAt = now;
        s.Revision++;
        await state.WriteStateAsync();
        return View();
    }

    public Task<CustomerView?> GetViewAsync() =>
        Task.FromResult(state.State.Revision == 0 ? null : View());

    private static bool Differs(string? current, string? incoming) =>
        incoming is not null && !string.Equals(current, incoming, StringComparison.Ordinal);

    private CustomerView View()
    {
        var s = state.State;
        return new CustomerView(
            CustomerKeys.CustomerId(this.GetPrimaryKeyString()),
            s.FirstName, s.LastName, s.Email, s.Phone, s.CreatedAt, s.UpdatedAt, s.Revision);
    }
}
