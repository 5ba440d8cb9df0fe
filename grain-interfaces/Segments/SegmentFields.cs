using OrleansCrm.Decisions;

namespace OrleansCrm.Segments;

/// <summary>
/// Maps the short names a segment definition uses to the fact names the customer's facts function answers, so that
/// marketers write <c>churnRisk</c> rather than <c>customer.scores.churnRisk</c>, and knows which facts are lists
/// and which move with the clock.
/// </summary>
internal static class SegmentFields
{
    /// <summary>Scores computed for every customer, reachable without the <c>scores.</c> prefix.</summary>
    public static readonly string[] ScoreNames = [.. CustomerScores.All.Select(s => s.Name)];

    private const string CustomerPrefix = "customer.";
    private const string AttributesPrefix = "customer.attributes.";
    private const string ScoresPrefix = "customer.scores.";

    /// <summary>Facts that hold a collection of strings: only <c>contains</c>, <c>exists</c> and <c>missing</c> make sense on them.</summary>
    private static readonly string[] ListFacts = [.. Facts.Customer.Where(f => f.IsList).Select(f => CustomerPrefix + f.Name)];

    /// <summary>Facts computed against the current time when read, so membership can change without any new event.</summary>
    private static readonly string[] ClockFacts = [.. Facts.Customer.Where(f => f.MovesWithClock).Select(f => CustomerPrefix + f.Name)];

    /// <summary>
    /// The fact an identifier names, or null with <paramref name="problem"/> saying why not. Names and prefixes
    /// match case-insensitively; attribute keys, score names after <c>scores.</c> and consent channels and purposes
    /// are data, so they are kept as written.
    /// </summary>
    public static string? Resolve(string name, out string problem)
    {
        problem = "";
        var parts = name.Split('.');
        if (parts.Any(p => p.Length == 0))
        {
            problem = $"\"{name}\" has an empty part between dots";
            return null;
        }

        if (parts.Length == 1)
        {
            if (Facts.CustomerFacts.FirstOrDefault(f => f.Equals(name, StringComparison.OrdinalIgnoreCase)) is { } fact)
            {
                return CustomerPrefix + fact;
            }

            if (ScoreNames.FirstOrDefault(f => f.Equals(name, StringComparison.OrdinalIgnoreCase)) is { } score)
            {
                return ScoresPrefix + score;
            }
        }
        else
        {
            var rest = name[(parts[0].Length + 1)..];
            if (parts[0].Equals("attributes", StringComparison.OrdinalIgnoreCase))
            {
                return AttributesPrefix + rest;
            }

            if (parts[0].Equals("scores", StringComparison.OrdinalIgnoreCase))
            {
                return ScoresPrefix + rest;
            }

            if (parts[0].Equals("consent", StringComparison.OrdinalIgnoreCase))
            {
                if (parts.Length == 3)
                {
                    return "consent." + rest;
                }

                problem = $"\"{name}\" should name a channel and a purpose: consent.<channel>.<purpose>";
                return null;
            }
        }

        problem = $"unknown field \"{name}\"; use {string.Join(", ", Facts.CustomerFacts)}, a score ({string.Join(", ", ScoreNames)}), "
            + "attributes.<key>, scores.<name> or consent.<channel>.<purpose>";
        return null;
    }

    /// <summary>True for facts that are collections of strings.</summary>
    public static bool IsList(string fact) => ListFacts.Contains(fact, StringComparer.Ordinal);

    /// <summary>
    /// True when the fact's value depends on the time it is read: recency, age and rolling spend windows, and every
    /// score its declaration says moves with the clock (all but <c>historicalValue</c>, a plain purchase total).
    /// Scores are computed on read: rfm and churnRisk use recency, the propensity models take recency as a feature,
    /// the lifetime-value forecasts run to the current date and risk flags expire; scores not declared (per offer
    /// category, or rules' own) may derive from those, so they count as clock-dependent too.
    /// </summary>
    public static bool DependsOnTime(string fact) =>
        ClockFacts.Contains(fact, StringComparer.Ordinal)
        || (fact.StartsWith(ScoresPrefix, StringComparison.Ordinal) && CustomerScores.Find(fact[ScoresPrefix.Length..])?.MovesWithClock != false);
}
