using System.Text.Json;
using System.Text.Json.Serialization;
using OrleansCrm.Scoring;

namespace OrleansCrm.Decisions;

/// <summary>The rule base: when an event matches, then actions, evaluated in the customer grain as it arrives.</summary>
public sealed record RuleSet(List<Rule>? Rules);

public sealed record Rule(string? Id, string? Name, bool Enabled, RuleWhen? When, List<RuleAction>? Then);

/// <summary>Matches events of <see cref="Type"/> (any type when null) whose conditions all hold.</summary>
public sealed record RuleWhen(string? Type, List<Condition>? Conditions);

/// <summary><c>tag</c> (Tag), <c>alert</c> (Message: a task for the account manager), <c>adjustScore</c> (Score,
/// Delta), <c>proposeOffer</c> (OfferId), <c>triggerCampaign</c> (CampaignId: recorded for the campaign engine).</summary>
public sealed record RuleAction(string? Action, string? Tag, string? Message, string? Score, double? Delta, string? OfferId, string? CampaignId);

/// <summary>The offer catalogue next-best-action chooses from.</summary>
public sealed record OfferCatalog(List<Offer>? Offers);

/// <summary>An offer: who is eligible, what it is worth, where it may be made, and a business priority lever
/// (1 = neutral) that managers turn to push or hold back an offer.</summary>
public sealed record Offer(
    string? Id,
    string? Name,
    string? Category,
    List<string>? Channels,
    decimal Value,
    double Lever = 1,
    DateTimeOffset? ValidFrom = null,
    DateTimeOffset? ValidTo = null,
    List<Condition>? Eligibility = null,
    string? ConsentPurpose = "marketing",
    int CooldownDays = 30);

/// <summary>The trained models the cluster scores with (the <c>models</c> catalog document).</summary>
public sealed record ModelSet(Scorecard? Churn, Scorecard? Response, LtvParameters? Ltv)
{
    public static ModelSet Empty { get; } = new(null, null, null);
}

/// <summary>BG/NBD (r, alpha, a, b) and Gamma-Gamma (p, q, v) parameters, with time measured in weeks.</summary>
/// <remarks><see cref="ObservedUntil"/> is the end of the data the fit saw; customers are evaluated as of that
/// moment moved forward by the time since training, so a history loaded from the past is not aged by decades.</remarks>
public sealed record LtvParameters(double R, double Alpha, double A, double B, double P, double Q, double V, int Version, DateTimeOffset TrainedAt, DateTimeOffset ObservedUntil);

/// <summary>The segment definitions: each a named expression in the segment language, versioned on every edit.</summary>
public sealed record SegmentSet(List<SegmentDefinition>? Segments);

/// <summary>One segment. A dynamic segment has an <see cref="Expression"/>; a static one (an uploaded list of customer
/// ids) has a <see cref="ListStamp"/> instead: the listed customers carry that stamp, and membership means carrying the
/// definition's current stamp.</summary>
public sealed record SegmentDefinition(string Id, string Name, string Expression, int Version, DateTimeOffset UpdatedAt, long? ListStamp = null, int? ListSize = null, string? OrgUnit = null)
{
    public bool IsStatic => ListStamp is not null;
}

public static class DecisionJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = false,
    };
}
