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

/// <summary>The names a condition may test.</summary>
public static class Facts
{
    public static readonly string[] EventFacts = ["event.type", "event.channel", "event.source"];

    public static readonly string[] DataFacts =
        ["amount", "currency", "productId", "productName", "category", "quantity", "caseId", "subject", "agent", "outcome", "campaign", "url", "purpose", "granted", "reference", "offerId"];

    public static readonly string[] CustomerFacts =
    [
        "region", "orgUnit", "accountManager", "preferredChannel", "email", "phone", "tags", "segments", "products",
        "purchaseCount", "purchaseTotal", "spend30Days", "spend90Days", "spend365Days", "daysSinceLastPurchase",
        "depositTotal", "withdrawalTotal", "paymentsLate", "openCases", "eventCount", "ageYears",
    ];

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
