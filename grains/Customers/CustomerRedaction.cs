namespace OrleansCrm.Customers;

/// <summary>
/// What an erasure removes and what it keeps (docs/privacy.md). Kept: ids, event types, times, channels, amounts,
/// quantities, products, consents (as withdrawn), campaign and offer references, scores and aggregates, the
/// organisation unit, region, account manager, preferred channel and tags (so analytics and access scoping stay
/// true). Removed: names, e-mail addresses, phone numbers, birth date, postal address, free attributes, external ids,
/// and every free text (subjects, notes, URLs, references, alert messages, rendered campaign messages).
/// </summary>
public static class CustomerRedaction
{
    public const string ErasureSource = "erasure";

    /// <summary>The redacted form of one logged event's payload.</summary>
    public static EventData Redact(EventData d) => d with
    {
        Subject = null,
        Url = null,
        Note = null,
        Reference = null,
        Profile = d.Profile is { } p ? Redact(p) : null,
    };

    private static CustomerProfile Redact(CustomerProfile p) =>
        new(OrgUnit: p.OrgUnit, Region: p.Region, AccountManager: p.AccountManager, PreferredChannel: p.PreferredChannel, Tags: p.Tags);

    /// <summary>Removes the personal data from a customer's state, keeping aggregates. Contact points stay listed in
    /// <see cref="CustomerState.IndexedContacts"/> (as index keys) until the erasure has released them.</summary>
    public static void Anonymise(CustomerState s, DateTimeOffset at)
    {
        s.FirstName = null;
        s.LastName = null;
        s.Emails.Clear();
        s.Phones.Clear();
        s.BirthDate = null;
        s.Address = null;
        s.Attributes.Clear();
        s.ExternalIds.Clear();
        s.FieldTimes.Clear();
        s.StaticLists.Clear();
        s.PendingTriggers.Clear();
        foreach (var (key, consent) in s.Consents.ToList())
        {
            s.Consents[key] = consent with { Granted = false, At = at > consent.At ? at : consent.At, Source = ErasureSource };
        }

        foreach (var (key, c) in s.Cases.ToList())
        {
            s.Cases[key] = c with { Subject = null };
        }

        s.RecentContacts = [.. s.RecentContacts.Select(c => c with { Subject = null })];
        s.Alerts = [.. s.Alerts.Select(a => a with { Message = "" })];
        foreach (var (key, record) in s.CampaignDecisions.ToList())
        {
            // A pending message is never sent now: it was rendered from the data being erased.
            s.CampaignDecisions[key] = record with { Subject = null, Body = null, Pending = false };
        }

        s.Erasure ??= new ErasureRecord(at, null, null);
    }
}
