using OrleansCrm.Customers;

namespace OrleansCrm.Campaigns;

/// <summary>A campaign another than the one deciding that already holds this customer today (sent, or deferred to
/// the end of quiet hours).</summary>
public sealed record CampaignClaim(string CampaignId, int Priority, bool Sent);

/// <summary>What a customer decided for one campaign step: <see cref="Outcome"/> is <c>send</c>, <c>defer</c> (send at
/// <see cref="NotBefore"/>), <c>control</c> (held out and measured) or <c>suppressed</c>, with the reason.</summary>
public sealed record ContactDecision(string Outcome, string? Reason, string? Channel, DateTimeOffset? NotBefore = null)
{
    public const string Send = ContactOutcomes.Send;
    public const string Defer = ContactOutcomes.Defer;
    public const string Control = ContactOutcomes.Control;
    public const string Suppressed = ContactOutcomes.Suppressed;
}

/// <summary>
/// The contact policy each customer applies to a campaign step, on its own state: do-not-contact, consent, the
/// control group, frequency caps, the daily limit, priority between campaigns and quiet hours, in that order; the
/// first "no" is the reason recorded. Pure, so a customer decides without calling anything (docs/campaigns.md).
/// </summary>
public static class ContactPolicy
{
    public const string DoNotContactTag = "do-not-contact";

    public static ContactDecision Decide(
        CustomerState s,
        string customerId,
        string campaignId,
        CampaignDefinition campaign,
        IReadOnlyList<CampaignClaim> claimsToday,
        DateTimeOffset now)
    {
        var policy = (campaign.Policy ?? ContactPolicySettings.Default).WithDefaults();
        if (s.Tags.Contains(DoNotContactTag))
        {
            return Suppress("do-not-contact");
        }

        var candidates = Channels(s, campaign).Where(c => Consented(s, c, campaign)).ToList();
        if (candidates.Count == 0)
        {
            return Suppress("no-consent");
        }

        if (InControlGroup(campaignId, customerId, campaign.ControlShare))
        {
            return new ContactDecision(ContactDecision.Control, "control-group", candidates[0]);
        }

        var channel = candidates.FirstOrDefault(c => !Capped(s, c, policy, now));
        if (channel is null)
        {
            return Suppress("frequency-cap", candidates[0]);
        }

        var zone = TimeZoneOf(s, campaign);
        var local = TimeZoneInfo.ConvertTime(now, zone);
        var today = DateOnly.FromDateTime(local.DateTime);
        var sentToday = s.RecentContacts.Count(c => IsCampaignContact(c) && DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(c.OccurredAt, zone).DateTime) == today);
        if (sentToday + claimsToday.Count(c => c.Sent && c.CampaignId != campaignId) >= policy.MaxCampaignContactsPerDay)
        {
            return Suppress("daily-limit", channel);
        }

        // A campaign already waiting for this customer today keeps the slot unless this one ranks higher.
        if (claimsToday.Any(c => !c.Sent && c.CampaignId != campaignId && c.Priority >= campaign.Priority))
        {
            return Suppress("lower-priority", channel);
        }

        if (QuietUntil(local, policy) is { } until)
        {
            return new ContactDecision(ContactDecision.Defer, "quiet-hours", channel, until);
        }

        return new ContactDecision(ContactDecision.Send, null, channel);

        static ContactDecision Suppress(string reason, string? channel = null) => new(ContactDecision.Suppressed, reason, channel);
    }

    /// <summary>The campaign's channels in order, the customer's preferred one first when the campaign allows it.</summary>
    public static IEnumerable<string> Channels(CustomerState s, CampaignDefinition campaign)
    {
        var channels = campaign.Channels ?? [];
        if (campaign.UseCustomerPreferredChannel && s.PreferredChannel is { } preferred
            && (channels.Length == 0 ? CampaignChannels.All.Contains(preferred, StringComparer.Ordinal) : channels.Contains(preferred, StringComparer.Ordinal)))
        {
            yield return preferred;
        }

        foreach (var channel in channels.Where(c => c != s.PreferredChannel || !campaign.UseCustomerPreferredChannel))
        {
            yield return channel;
        }
    }

    /// <summary>Opt-in: the customer granted the purpose on the channel. Opt-out: the customer never revoked it.</summary>
    public static bool Consented(CustomerState s, string channel, CampaignDefinition campaign) =>
        s.Consents.TryGetValue($"{channel}|{campaign.ConsentPurpose}", out var consent)
            ? consent.Granted
            : campaign.ConsentMode == "optOut";

    /// <summary>A stable draw in [0, 1) per campaign and customer (FNV-1a, then a finaliser), so a customer stays in or out of the
    /// control group however often the campaign runs or resumes.</summary>
    public static bool InControlGroup(string campaignId, string customerId, double share)
    {
        if (share <= 0)
        {
            return false;
        }

        var hash = 14695981039346656037UL;
        foreach (var c in $"{campaignId}|{customerId}")
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        // FNV leaves its high bits poorly mixed by the last characters; a finaliser (MurmurHash3's fmix64) spreads
        // them, so the draws of two campaigns are independent.
        hash ^= hash >> 33;
        hash *= 0xff51afd7ed558ccdUL;
        hash ^= hash >> 33;
        hash *= 0xc4ceb9fe1a85ec53UL;
        hash ^= hash >> 33;
        return (hash >> 11) / (double)(1UL << 53) < share;
    }

    private static bool Capped(CustomerState s, string channel, ContactPolicySettings policy, DateTimeOffset now)
    {
        if (policy.Caps?.GetValueOrDefault(channel) is not { } cap)
        {
            return false;
        }

        var since = now.AddDays(-cap.Days);
        return s.RecentContacts.Count(c => IsCampaignContact(c) && c.Channel == channel && c.OccurredAt > since) >= cap.Contacts;
    }

    private static bool IsCampaignContact(ContactItem c) => c.Direction == "outbound" && c.Campaign is not null;

    /// <summary>The customer's <c>attributes.timeZone</c> when it names a zone, else the campaign's.</summary>
    public static TimeZoneInfo TimeZoneOf(CustomerState s, CampaignDefinition campaign) =>
        CampaignValidation.TimeZoneOf(s.Attributes.GetValueOrDefault("timeZone"))
        ?? CampaignValidation.TimeZoneOf(campaign.TimeZone)
        ?? TimeZoneInfo.Utc;

    /// <summary>When the quiet period that <paramref name="local"/> falls in ends, or null outside it.</summary>
    public static DateTimeOffset? QuietUntil(DateTimeOffset local, ContactPolicySettings policy)
    {
        int from = policy.QuietFromHour ?? 0, to = policy.QuietToHour ?? 0;
        if (from == to)
        {
            return null;
        }

        var hour = local.Hour;
        var quiet = from < to ? hour >= from && hour < to : hour >= from || hour < to;
        if (!quiet)
        {
            return null;
        }

        var end = new DateTimeOffset(local.Date.AddHours(to), local.Offset);
        return end > local ? end : end.AddDays(1);
    }
}
