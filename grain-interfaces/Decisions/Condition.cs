using System.Globalization;
using System.Text.Json;

namespace OrleansCrm.Decisions;

/// <summary>
/// One test on a fact: <c>{"field": "data.amount", "op": ">=", "value": 10000}</c>. Fields are
/// <c>event.type|channel|source</c>, <c>data.&lt;payload field&gt;</c>, or <c>customer.&lt;fact&gt;</c>
/// (see <see cref="Facts.CustomerFacts"/>), including <c>customer.attributes.&lt;key&gt;</c> and
/// <c>customer.scores.&lt;name&gt;</c>.
/// </summary>
public sealed record Condition(string? Field, string? Op, JsonElement? Value)
{
    public static readonly string[] Operators = ["=", "!=", ">", ">=", "<", "<=", "in", "notIn", "contains", "exists", "missing"];

    /// <summary>True when the fact satisfies the test. A missing fact satisfies only <c>missing</c> and <c>!=</c>.</summary>
    public bool Evaluate(Func<string, object?> facts)
    {
        var fact = facts(Field!);
        switch (Op)
        {
            case "exists":
                return fact is not null;
            case "missing":
                return fact is null;
            case "contains":
                return fact is IEnumerable<string> list && Value is { ValueKind: JsonValueKind.String } v && list.Contains(v.GetString(), StringComparer.OrdinalIgnoreCase);
            case "in":
                return fact is not null && Value is { ValueKind: JsonValueKind.Array } a && a.EnumerateArray().Any(x => Equal(fact, x));
            case "notIn":
                return fact is null || (Value is { ValueKind: JsonValueKind.Array } b && !b.EnumerateArray().Any(x => Equal(fact, x)));
            case "=":
                return fact is not null && Equal(fact, Value!.Value);
            case "!=":
                return fact is null || !Equal(fact, Value!.Value);
            default:
                if (AsNumber(fact) is not { } left || Value is not { ValueKind: JsonValueKind.Number } n)
                {
                    return false;
                }

                var right = n.GetDouble();
                return Op switch
                {
                    ">" => left > right,
                    ">=" => left >= right,
                    "<" => left < right,
                    "<=" => left <= right,
                    _ => false,
                };
        }
    }

    private static bool Equal(object fact, JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number => AsNumber(fact) is { } x && Math.Abs(x - value.GetDouble()) < 1e-9,
        JsonValueKind.True => fact is true,
        JsonValueKind.False => fact is false,
        JsonValueKind.String => string.Equals(Convert.ToString(fact, CultureInfo.InvariantCulture), value.GetString(), StringComparison.OrdinalIgnoreCase),
        _ => false,
    };

    private static double? AsNumber(object? fact) => OrleansCrm.Segments.SegmentValues.AsNumber(fact);
}

/// <summary>A fact about the customer that rules and segments may test, declared once: its name (after
/// <c>customer.</c>), what it means, whether it is a list of strings, and whether its value moves with the clock.
/// Its value is computed in <c>CustomerDecisions.Facts</c>.</summary>
public sealed record FactInfo(string Name, string Description, bool IsList = false, bool MovesWithClock = false);

/// <summary>The names a condition may test.</summary>
public static class Facts
{
    /// <summary>The customer's facts, one declaration each.</summary>
    public static IReadOnlyList<FactInfo> Customer { get; } =
    [
        new("region", "The profile's region."),
        new("orgUnit", "The organisation unit the customer belongs to."),
        new("accountManager", "The profile's account manager."),
        new("preferredChannel", "The channel the customer prefers."),
        new("email", "The most recently given e-mail address."),
        new("phone", "The most recently given phone number."),
        new("tags", "The customer's tags.", IsList: true),
        new("segments", "The segments the customer is a member of.", IsList: true),
        new("products", "The ids of the products the customer holds.", IsList: true),
        new("purchaseCount", "How many purchases."),
        new("purchaseTotal", "The sum of all purchases."),
        new("spend30Days", "Purchases over the last 30 days.", MovesWithClock: true),
        new("spend90Days", "Purchases over the last 90 days.", MovesWithClock: true),
        new("spend365Days", "Purchases over the last 365 days.", MovesWithClock: true),
        new("daysSinceLastPurchase", "Days since the last purchase; missing without one.", MovesWithClock: true),
        new("depositTotal", "The sum of all deposits."),
        new("withdrawalTotal", "The sum of all withdrawals."),
        new("paymentsLate", "How many bills were paid after they fell due."),
        new("openCases", "How many service cases are not closed."),
        new("eventCount", "How many events the customer's log holds."),
        new("ageYears", "Age in whole years, from the birth date.", MovesWithClock: true),
    ];

    public static readonly string[] EventFacts = ["event.type", "event.channel", "event.source"];

    public static readonly string[] DataFacts =
        ["amount", "currency", "productId", "productName", "category", "quantity", "caseId", "subject", "agent", "outcome", "campaign", "url", "purpose", "granted", "reference", "offerId"];

    public static readonly string[] CustomerFacts = [.. Customer.Select(f => f.Name)];

    /// <summary>Null when <paramref name="field"/> names a fact, else what is wrong.</summary>
    public static string? Check(string? field, bool eventFactsAllowed)
    {
        if (string.IsNullOrWhiteSpace(field))
        {
            return "is required";
        }

        if (field.StartsWith("event.", StringComparison.Ordinal) || field.StartsWith("data.", StringComparison.Ordinal))
        {
            if (!eventFactsAllowed)
            {
                return $"\"{field}\": event fields are not available here, only customer.*";
            }

            return EventFacts.Contains(field) || DataFacts.Contains(field["data.".Length..]) ? null
                : $"unknown field \"{field}\" (event.type, event.channel, event.source or data.{string.Join("|", DataFacts)})";
        }

        if (field.StartsWith("customer.attributes.", StringComparison.Ordinal) || field.StartsWith("customer.scores.", StringComparison.Ordinal))
        {
            return field.Split('.').Length == 3 && field.Split('.')[2].Length > 0 ? null : $"\"{field}\" needs a name after the last dot";
        }

        return field.StartsWith("customer.", StringComparison.Ordinal) && CustomerFacts.Contains(field["customer.".Length..]) ? null
            : $"unknown field \"{field}\" (customer.{string.Join("|", CustomerFacts)}, customer.attributes.<key>, customer.scores.<name>{(eventFactsAllowed ? ", event.*, data.*" : "")})";
    }
}
