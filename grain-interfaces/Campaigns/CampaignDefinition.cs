namespace OrleansCrm.Campaigns;

/// <summary>What a campaign is: whom it targets, what it offers on which channels with which message, when, and the
/// contact policy it obeys. Plan and semantics: docs/campaigns.md.</summary>
[GenerateSerializer, Immutable, Alias("crm.CampaignDefinition")]
public sealed record CampaignDefinition(
    string Name,
    string Type,
    string[] Segments,
    string[]? ExcludeSegments = null,
    string? OfferId = null,
    string[]? Channels = null,
    bool UseCustomerPreferredChannel = false,
    Dictionary<string, MessageTemplate>? Templates = null,
    DateTimeOffset? StartAt = null,
    double ControlShare = 0,
    int Priority = 0,
    string ConsentPurpose = "marketing",
    string ConsentMode = "optIn",
    string TimeZone = "UTC",
    ContactPolicySettings? Policy = null,
    decimal CostPerContact = 0,
    int AttributionDays = 14,
    string? Schedule = null,
    JourneyStep[]? Steps = null,
    string? OrgUnit = null);

/// <summary>A follow-up of a journey: after <see cref="Wait"/> from the end of the previous step, the customers who got
/// the journey's first message receive this one when <see cref="When"/> holds for them: <c>all</c>,
/// <c>responded</c> or <c>notResponded</c> (a purchase, an e-mail click, an inbound call or an accepted offer since
/// that first message).</summary>
[GenerateSerializer, Immutable, Alias("crm.JourneyStep")]
public sealed record JourneyStep(string Id, TimeSpan Wait, string When, string[] Channels, Dictionary<string, MessageTemplate> Templates);

/// <summary>The campaigns of the deployment (catalog kind <c>campaigns</c>), so they can be listed: each entry written
/// when its definition is saved.</summary>
public sealed record CampaignIndex(List<CampaignIndexEntry>? Campaigns);

public sealed record CampaignIndexEntry(string Id, string Name, string Type, string? OrgUnit, DateTimeOffset SavedAt);

/// <summary>One channel's message: a subject (e-mail) and a body, in Liquid; <see cref="Html"/> escapes every value.</summary>
[GenerateSerializer, Immutable, Alias("crm.MessageTemplate")]
public sealed record MessageTemplate(string? Subject, string Body, bool Html = false);

/// <summary>Contact-policy limits; null fields take the defaults in <see cref="ContactPolicySettings.Default"/>.</summary>
[GenerateSerializer, Immutable, Alias("crm.ContactPolicySettings")]
public sealed record ContactPolicySettings(
    Dictionary<string, FrequencyCap>? Caps = null,
    int? MaxCampaignContactsPerDay = null,
    int? QuietFromHour = null,
    int? QuietToHour = null)
{
    public static ContactPolicySettings Default { get; } = new(
        new Dictionary<string, FrequencyCap>(StringComparer.Ordinal)
        {
            ["email"] = new(3, 7),
            ["sms"] = new(2, 7),
            ["phone"] = new(1, 14),
        },
        MaxCampaignContactsPerDay: 1,
        QuietFromHour: 21,
        QuietToHour: 8);

    /// <summary>These settings with every missing field taken from <see cref="Default"/>.</summary>
    public ContactPolicySettings WithDefaults() => new(
        Caps ?? Default.Caps,
        MaxCampaignContactsPerDay ?? Default.MaxCampaignContactsPerDay,
        QuietFromHour ?? Default.QuietFromHour,
        QuietToHour ?? Default.QuietToHour);
}

/// <summary>At most <see cref="Contacts"/> campaign contacts on a channel in any <see cref="Days"/> days.</summary>
[GenerateSerializer, Immutable, Alias("crm.FrequencyCap")]
public sealed record FrequencyCap(int Contacts, int Days);

public static class CampaignTypes
{
    public const string SingleStep = "single";
    public const string Journey = "journey";
    public const string Periodic = "periodic";
    public const string Triggered = "triggered";
    public const string Prospect = "prospect";

    /// <summary>The static segment a prospect campaign's uploaded list becomes, and the only one it targets.</summary>
    public static string ProspectSegment(string campaignId) => $"prospects-{campaignId}";

    /// <summary>The tag every uploaded prospect carries until it becomes a customer.</summary>
    public const string ProspectTag = "prospect";

    public static readonly string[] All = [SingleStep, Journey, Periodic, Triggered, Prospect];
}

public static class CampaignChannels
{
    public static readonly string[] All = ["email", "sms", "phone", "push", "letter"];
}

/// <summary>Checks a definition before it is stored; every problem names its field, as the gateway reports it.</summary>
public static class CampaignValidation
{
    public static Dictionary<string, string[]> Validate(CampaignDefinition? c)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        void Add(string field, string problem) => errors[field] = [problem];
        if (c is null)
        {
            Add("body", "is required");
            return errors;
        }

        if (string.IsNullOrWhiteSpace(c.Name) || c.Name.Length > 200)
        {
            Add("name", "is required, at most 200 characters");
        }

        if (!CampaignTypes.All.Contains(c.Type, StringComparer.Ordinal))
        {
            Add("type", $"must be one of {string.Join(", ", CampaignTypes.All)}");
        }

        if (c.Type != CampaignTypes.Prospect && c.Type != CampaignTypes.Triggered && (c.Segments is null || c.Segments.Length == 0))
        {
            Add("segments", "name at least one segment to target");
        }

        var channels = c.Channels ?? [];
        if (channels.Length == 0 && !c.UseCustomerPreferredChannel)
        {
            Add("channels", "name at least one channel, or set useCustomerPreferredChannel");
        }

        for (var i = 0; i < channels.Length; i++)
        {
            if (!CampaignChannels.All.Contains(channels[i], StringComparer.Ordinal))
            {
                Add($"channels[{i}]", $"must be one of {string.Join(", ", CampaignChannels.All)}");
            }
        }

        foreach (var channel in channels.Where(ch => c.Templates?.ContainsKey(ch) != true))
        {
            Add($"templates.{channel}", "is required for every channel the campaign uses");
        }

        if (c.ControlShare is < 0 or > 0.5 || double.IsNaN(c.ControlShare))
        {
            Add("controlShare", "must be from 0 to 0.5");
        }

        if (c.ConsentMode is not ("optIn" or "optOut"))
        {
            Add("consentMode", "must be optIn or optOut");
        }

        if (TimeZoneOf(c.TimeZone) is null)
        {
            Add("timeZone", $"\"{c.TimeZone}\" is not a known time zone (use an IANA id such as Europe/Paris)");
        }

        if (c.AttributionDays is < 1 or > 365)
        {
            Add("attributionDays", "must be from 1 to 365");
        }

        if (c.Type == CampaignTypes.Periodic && string.IsNullOrWhiteSpace(c.Schedule))
        {
            Add("schedule", "is required for a periodic campaign: a cron expression such as \"0 9 * * MON\"");
        }

        if (c.Type == CampaignTypes.Journey && (c.Steps is null || c.Steps.Length == 0))
        {
            Add("steps", "a journey needs at least one follow-up step");
        }

        for (var i = 0; i < (c.Steps ?? []).Length; i++)
        {
            var step = c.Steps![i];
            if (string.IsNullOrWhiteSpace(step.Id) || step.Id.Contains('/', StringComparison.Ordinal))
            {
                Add($"steps[{i}].id", "is required and may not contain /");
            }

            if (step.When is not ("all" or "responded" or "notResponded"))
            {
                Add($"steps[{i}].when", "must be all, responded or notResponded");
            }

            if (step.Wait < TimeSpan.Zero || step.Wait > TimeSpan.FromDays(365))
            {
                Add($"steps[{i}].wait", "must be from 0 to 365 days");
            }

            foreach (var channel in (step.Channels ?? []).Where(ch => step.Templates?.ContainsKey(ch) != true))
            {
                Add($"steps[{i}].templates.{channel}", "is required for every channel the step uses");
            }
        }

        if (c.CostPerContact < 0)
        {
            Add("costPerContact", "must not be negative");
        }

        if (c.Policy is { } p)
        {
            foreach (var (channel, cap) in p.Caps ?? [])
            {
                if (cap.Contacts < 0 || cap.Days is < 1 or > 365)
                {
                    Add($"policy.caps.{channel}", "contacts must be 0 or more and days from 1 to 365");
                }
            }

            if (p.MaxCampaignContactsPerDay is < 1)
            {
                Add("policy.maxCampaignContactsPerDay", "must be at least 1");
            }

            if (p.QuietFromHour is < 0 or > 23 || p.QuietToHour is < 0 or > 23)
            {
                Add(p.QuietFromHour is < 0 or > 23 ? "policy.quietFromHour" : "policy.quietToHour", "must be an hour from 0 to 23");
            }
        }

        return errors;
    }

    /// <summary>The time zone an IANA (or Windows) id names, or null.</summary>
    public static TimeZoneInfo? TimeZoneOf(string? id) =>
        !string.IsNullOrWhiteSpace(id) && TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone) ? zone : null;
}
