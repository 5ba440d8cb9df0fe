using System.Globalization;

namespace OrleansCrm.Segments;

/// <summary>
/// The literals a comparison or <c>in</c> list tests against, split by kind once at compile time so evaluation
/// only converts the fact. Equality follows <see cref="Decisions.Condition"/>: numbers within 1e-9 as doubles,
/// strings case-insensitively against the fact's invariant text, booleans only against booleans.
/// </summary>
internal sealed class SegmentValues
{
    private readonly HashSet<string> strings = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<double> numbers = [];
    private bool hasTrue;
    private bool hasFalse;

    /// <summary>Adds one literal: a string, a double or a bool.</summary>
    public void Add(object literal)
    {
        switch (literal)
        {
            case string s:
                strings.Add(s);
                break;
            case double d:
                numbers.Add(d);
                break;
            case true:
                hasTrue = true;
                break;
            default:
                hasFalse = true;
                break;
        }
    }

    /// <summary>True when a present fact equals one of the literals.</summary>
    public bool Matches(object fact)
    {
        if (fact is bool b && (b ? hasTrue : hasFalse))
        {
            return true;
        }

        if (numbers.Count > 0 && AsNumber(fact) is { } x)
        {
            foreach (var n in numbers)
            {
                if (Math.Abs(x - n) < 1e-9)
                {
                    return true;
                }
            }
        }

        return strings.Count > 0 && Convert.ToString(fact, CultureInfo.InvariantCulture) is { } text && strings.Contains(text);
    }

    /// <summary>The fact as a number (rule conditions use the same conversion); null when it is none.</summary>
    public static double? AsNumber(object? fact) => fact switch
    {
        double d => d,
        decimal m => (double)m,
        int i => i,
        long l => l,
        string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var p) => p,
        _ => null,
    };
}
