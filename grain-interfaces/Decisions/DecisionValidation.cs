using System.Text.Json;
using OrleansCrm.Customers;

namespace OrleansCrm.Decisions;

/// <summary>
/// Checks rule and offer documents before they are stored; every problem names its place
/// (<c>rules[0].when.conditions[1].op</c>) so an editor can go straight to it.
/// </summary>
public static class DecisionValidation
{
    public static readonly string[] Actions = ["tag", "alert", "adjustScore", "proposeOffer", "triggerCampaign"];

    public static Dictionary<string, string[]> ValidateRule(Rule rule, string path, IReadOnlySet<string>? offerIds)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        void Add(string where, string problem) => errors[path + where] = [problem];

        if (CustomerKeys.Validate(rule.Id) is { } idProblem)
        {
            Add("id", idProblem);
        }

        if (string.IsNullOrWhiteSpace(rule.Name) || rule.Name.Length > 200)
        {
            Add("name", "is required, at most 200 characters");
        }

        if (rule.When is null)
        {
            Add("when", "is required");
        }
        else
        {
            if (rule.When.Type is { } type && !CustomerEventTypes.All.Contains(type))
            {
                Add("when.type", $"unknown event type \"{type}\"");
            }

            CheckConditions(rule.When.Conditions, "when.conditions", eventFacts: true, Add);
        }

        if (rule.Then is not { Count: > 0 })
        {
            Add("then", "needs at least one action");
        }
        else
        {
            for (var i = 0; i < rule.Then.Count; i++)
            {
                var a = rule.Then[i];
                var at = $"then[{i}]";
                switch (a.Action)
                {
                    case "tag" when string.IsNullOrWhiteSpace(a.Tag) || a.Tag.Length > 64:
                        Add(at + ".tag", "is required for tag, at most 64 characters");
                        break;
                    case "alert" when string.IsNullOrWhiteSpace(a.Message) || a.Message.Length > 500:
                        Add(at + ".message", "is required for alert, at most 500 characters");
                        break;
                    case "adjustScore" when string.IsNullOrWhiteSpace(a.Score) || a.Delta is null:
                        Add(at + (a.Delta is null ? ".delta" : ".score"), "adjustScore needs score and delta");
                        break;
                    case "proposeOffer" when string.IsNullOrWhiteSpace(a.OfferId):
                        Add(at + ".offerId", "is required for proposeOffer");
                        break;
                    case "proposeOffer" when offerIds is not null && !offerIds.Contains(a.OfferId!):
                        Add(at + ".offerId", $"no offer \"{a.OfferId}\" in the catalogue");
                        break;
                    case "triggerCampaign" when string.IsNullOrWhiteSpace(a.CampaignId):
                        Add(at + ".campaignId", "is required for triggerCampaign");
                        break;
                    case null:
                        Add(at + ".action", $"is required (one of {string.Join(", ", Actions)})");
                        break;
                    default:
                        if (!Actions.Contains(a.Action))
                        {
                            Add(at + ".action", $"unknown action \"{a.Action}\" (one of {string.Join(", ", Actions)})");
                        }

                        break;
                }
            }
        }

        return errors;
    }

    public static Dictionary<string, string[]> ValidateOffer(Offer offer, string path)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        void Add(string where, string problem) => errors[path + where] = [problem];

        if (CustomerKeys.Validate(offer.Id) is { } idProblem)
        {
            Add("id", idProblem);
        }

        if (string.IsNullOrWhiteSpace(offer.Name) || offer.Name.Length > 200)
        {
            Add("name", "is required, at most 200 characters");
        }

        if (offer.Channels is not { Count: > 0 })
        {
            Add("channels", "needs at least one channel");
        }
        else if (offer.Channels.FirstOrDefault(c => !CustomerEventRules.Channels.Contains(c)) is { } bad)
        {
            Add("channels", $"unknown channel \"{bad}\" (one of {string.Join(", ", CustomerEventRules.Channels)})");
        }

        if (offer.Value < 0)
        {
            Add("value", "must not be negative");
        }

        if (offer.Lever is < 0 or > 100 || double.IsNaN(offer.Lever))
        {
            Add("lever", "must be from 0 to 100 (1 is neutral)");
        }

        if (offer.ValidFrom is { } from && offer.ValidTo is { } to && to <= from)
        {
            Add("validTo", "must be after validFrom");
        }

        if (offer.CooldownDays is < 0 or > 3650)
        {
            Add("cooldownDays", "must be from 0 to 3650");
        }

        CheckConditions(offer.Eligibility, "eligibility", eventFacts: false, Add);
        return errors;
    }

    /// <summary>Parses a JSON body into <typeparamref name="T"/>, or names the JSON path that could not be read.</summary>
    public static T? Parse<T>(string json, out string? field, out string? problem)
        where T : class
    {
        field = null;
        problem = null;
        try
        {
            var value = JsonSerializer.Deserialize<T>(json, DecisionJson.Options);
            if (value is null)
            {
                (field, problem) = ("body", "a JSON object is required");
            }

            return value;
        }
        catch (JsonException e)
        {
            field = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "body" : e.Path.TrimStart('$', '.');
            problem = "could not be read: " + (e.Message.Split(". Path:")[0]);
            return null;
        }
    }

    private static void CheckConditions(List<Condition>? conditions, string at, bool eventFacts, Action<string, string> add)
    {
        for (var i = 0; i < (conditions?.Count ?? 0); i++)
        {
            var c = conditions![i];
            var here = $"{at}[{i}]";
            if (Facts.Check(c.Field, eventFacts) is { } fieldProblem)
            {
                add(here + ".field", fieldProblem);
            }

            if (c.Op is null || !Condition.Operators.Contains(c.Op))
            {
                add(here + ".op", $"unknown operator \"{c.Op}\" (one of {string.Join(" ", Condition.Operators)})");
                continue;
            }

            var kind = c.Value?.ValueKind;
            var problem = c.Op switch
            {
                "exists" or "missing" => null,
                ">" or ">=" or "<" or "<=" when kind != JsonValueKind.Number => $"{c.Op} needs a number",
                "in" or "notIn" when kind != JsonValueKind.Array => $"{c.Op} needs an array",
                "contains" when kind != JsonValueKind.String => "contains needs a string",
                "=" or "!=" when kind is null or JsonValueKind.Null or JsonValueKind.Object or JsonValueKind.Array => $"{c.Op} needs a number, string or true/false",
                _ => null,
            };
            if (problem is not null)
            {
                add(here + ".value", problem);
            }
        }
    }
}
