using System.Globalization;
using System.Text;

namespace OrleansCrm.Tests.Segments;

/// <summary>
/// An independent model of the segment language for the property test: a generated syntax tree, a printer that
/// turns it into text (with random spacing, keyword case and redundant parentheses) and a brute-force interpreter
/// written from the specification rather than from the parser's code.
/// </summary>
internal abstract record SegmentNode;

internal sealed record OrNode(SegmentNode[] Parts) : SegmentNode;

internal sealed record AndNode(SegmentNode[] Parts) : SegmentNode;

internal sealed record NotNode(SegmentNode Inner) : SegmentNode;

/// <summary>A field test: <see cref="Op"/> is a comparison, "in", "not in", "contains", "exists" or "missing".</summary>
internal sealed record TestNode(SegmentModel.Field Field, string Op, object[] Values) : SegmentNode;

internal sealed class SegmentModel(Random random)
{
    /// <summary>A field as written in a definition and the fact name it reads.</summary>
    internal sealed record Field(string Written, string Fact, bool IsList);

    public static readonly Field[] Fields =
    [
        new("region", "customer.region", false),
        new("purchaseCount", "customer.purchaseCount", false),
        new("purchaseTotal", "customer.purchaseTotal", false),
        new("daysSinceLastPurchase", "customer.daysSinceLastPurchase", false),
        new("churnRisk", "customer.scores.churnRisk", false),
        new("scores.rfm", "customer.scores.rfm", false),
        new("attributes.Contract", "customer.attributes.Contract", false),
        new("consent.email.marketing", "consent.email.marketing", false),
        new("tags", "customer.tags", true),
    ];

    private static readonly double[] Numbers = [-3, 0, 0.7, 1, 2.5, 5, 12, 90, 100];
    private static readonly string[] Strings = ["north", "NORTH", "east", "gold", "12", "2.5", "vip", "say \"hi\"", "back\\slash", ""];
    private static readonly string[] ComparisonOps = ["=", "!=", ">", ">=", "<", "<="];
    private static readonly string[] Spaces = [" ", "  ", "\t", "\n", " \n "];

    public SegmentNode Generate(int depth)
    {
        var pick = depth <= 0 ? 3 : random.Next(6);
        switch (pick)
        {
            case 0:
                return new OrNode([.. Enumerable.Range(0, random.Next(2, 4)).Select(_ => Generate(depth - 1))]);
            case 1:
                return new AndNode([.. Enumerable.Range(0, random.Next(2, 4)).Select(_ => Generate(depth - 1))]);
            case 2:
                return new NotNode(Generate(depth - 1));
            default:
                var field = Fields[random.Next(Fields.Length)];
                if (field.IsList)
                {
                    return random.Next(4) switch
                    {
                        0 => new TestNode(field, "exists", []),
                        1 => new TestNode(field, "missing", []),
                        _ => new TestNode(field, "contains", [Strings[random.Next(Strings.Length)]]),
                    };
                }

                return random.Next(10) switch
                {
                    0 => new TestNode(field, "exists", []),
                    1 => new TestNode(field, "missing", []),
                    2 => new TestNode(field, "in", [.. Enumerable.Range(0, random.Next(1, 4)).Select(_ => Value())]),
                    3 => new TestNode(field, "not in", [.. Enumerable.Range(0, random.Next(1, 4)).Select(_ => Value())]),
                    _ when random.Next(2) == 0 => new TestNode(field, ComparisonOps[random.Next(2)], [Value()]),
                    _ => new TestNode(field, ComparisonOps[random.Next(2, ComparisonOps.Length)], [Numbers[random.Next(Numbers.Length)]]),
                };
        }
    }

    /// <summary>A random customer: each fact missing one time in five, values drawn so that matches are common.</summary>
    public Dictionary<string, object?> Customer()
    {
        var facts = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var field in Fields)
        {
            if (random.Next(5) == 0)
            {
                continue;
            }

            facts[field.Fact] = field.Fact switch
            {
                "customer.region" or "customer.attributes.Contract" => Strings[random.Next(Strings.Length)],
                "customer.purchaseCount" => (long)random.Next(0, 15),
                "customer.purchaseTotal" => new[] { 0m, 2.5m, 2.50m, 12m, 99.99m, 100m }[random.Next(6)],
                "consent.email.marketing" => random.Next(2) == 0,
                "customer.tags" => new HashSet<string>(Strings.Where(_ => random.Next(3) == 0), StringComparer.Ordinal),
                _ => Numbers[random.Next(Numbers.Length)] + (random.Next(3) == 0 ? 0.1 : 0),
            };
        }

        return facts;
    }

    /// <summary>Prints with the fewest parentheses precedence needs, plus some redundant ones.</summary>
    public string Print(SegmentNode node)
    {
        var text = new StringBuilder();
        Print(node, 0, text);
        return text.ToString();
    }

    private void Print(SegmentNode node, int needed, StringBuilder text)
    {
        var own = node switch { OrNode => 1, AndNode => 2, NotNode => 3, _ => 4 };
        var wrap = own < needed || random.Next(10) == 0;
        if (wrap)
        {
            text.Append('(').Append(Gap());
        }

        switch (node)
        {
            case OrNode or:
                Join(or.Parts, "or", 1, text);
                break;
            case AndNode and:
                Join(and.Parts, "and", 2, text);
                break;
            case NotNode not:
                text.Append(Keyword("not")).Append(Space());
                Print(not.Inner, 3, text);
                break;
            case TestNode test:
                text.Append(CaseOf(test.Field)).Append(Space());
                switch (test.Op)
                {
                    case "exists" or "missing":
                        text.Append(Keyword(test.Op));
                        break;
                    case "in" or "not in":
                        text.Append(string.Join(Space(), test.Op.Split(' ').Select(Keyword))).Append(Gap()).Append('(').Append(Gap())
                            .Append(string.Join("," + Gap(), test.Values.Select(Literal))).Append(Gap()).Append(')');
                        break;
                    case "contains":
                        text.Append(Keyword("contains")).Append(Space()).Append(Literal(test.Values[0]));
                        break;
                    default:
                        text.Append(test.Op).Append(Gap()).Append(Literal(test.Values[0]));
                        break;
                }

                break;
            default:
                throw new InvalidOperationException("unknown node");
        }

        if (wrap)
        {
            text.Append(Gap()).Append(')');
        }
    }

    private void Join(SegmentNode[] parts, string keyword, int needed, StringBuilder text)
    {
        for (var i = 0; i < parts.Length; i++)
        {
            if (i > 0)
            {
                text.Append(Space()).Append(Keyword(keyword)).Append(Space());
            }

            Print(parts[i], needed, text);
        }
    }

    private string Space() => Spaces[random.Next(Spaces.Length)];

    private string Gap() => random.Next(2) == 0 ? "" : Space();

    private string Keyword(string keyword) => random.Next(3) switch
    {
        0 => keyword,
        1 => keyword.ToUpperInvariant(),
        _ => char.ToUpperInvariant(keyword[0]) + keyword[1..],
    };

    /// <summary>Short names may be written in any case; attribute keys and consent parts are data and stay as they are.</summary>
    private string CaseOf(Field field) => field.Written.Contains('.', StringComparison.Ordinal) || random.Next(2) == 0
        ? field.Written
        : field.Written.ToUpperInvariant();

    private string Literal(object value) => value switch
    {
        string s => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        bool b => Keyword(b ? "true" : "false"),
        _ => throw new InvalidOperationException("unknown literal"),
    };

    private object Value() => random.Next(5) switch
    {
        0 => random.Next(2) == 0,
        1 or 2 => Numbers[random.Next(Numbers.Length)],
        _ => Strings[random.Next(Strings.Length)],
    };

    /// <summary>The specification, read literally: what the node means for these facts.</summary>
    public static bool Interpret(SegmentNode node, IReadOnlyDictionary<string, object?> facts) => node switch
    {
        OrNode or => or.Parts.Any(p => Interpret(p, facts)),
        AndNode and => and.Parts.All(p => Interpret(p, facts)),
        NotNode not => !Interpret(not.Inner, facts),
        TestNode test => Test(test, facts.GetValueOrDefault(test.Field.Fact)),
        _ => throw new InvalidOperationException("unknown node"),
    };

    private static bool Test(TestNode test, object? fact)
    {
        if (test.Op == "missing")
        {
            return fact is null;
        }

        if (test.Op is "!=" or "not in")
        {
            return fact is null || !test.Values.Any(v => Same(fact, v));
        }

        if (fact is null)
        {
            return false;
        }

        switch (test.Op)
        {
            case "exists":
                return true;
            case "contains":
                return fact is IEnumerable<string> items && items.Any(i => Upper(i) == Upper((string)test.Values[0]));
            case "=" or "in":
                return test.Values.Any(v => Same(fact, v));
            default:
                var left = Number(fact);
                var right = (double)test.Values[0];
                return left is not null && test.Op switch
                {
                    ">" => left > right,
                    ">=" => left >= right,
                    "<" => left < right,
                    _ => left <= right,
                };
        }
    }

    private static bool Same(object fact, object literal) => literal switch
    {
        bool b => fact is bool f && f == b,
        double d => Number(fact) is { } n && Math.Abs(n - d) < 1e-9,
        _ => Upper(Text(fact)) == Upper((string)literal),
    };

    private static double? Number(object fact) => fact switch
    {
        long l => l,
        decimal m => decimal.ToDouble(m),
        double d => d,
        string s => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var p) ? p : null,
        _ => null,
    };

    private static string Text(object fact) => fact switch
    {
        string s => s,
        bool b => b ? "True" : "False",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => throw new InvalidOperationException("unexpected fact"),
    };

    private static string Upper(string s) => s.ToUpperInvariant();

    /// <summary>The facts a node reads, as the parser should report them.</summary>
    public static IEnumerable<string> FactsRead(SegmentNode node) => node switch
    {
        OrNode or => or.Parts.SelectMany(FactsRead),
        AndNode and => and.Parts.SelectMany(FactsRead),
        NotNode not => FactsRead(not.Inner),
        TestNode test => [test.Field.Fact],
        _ => [],
    };
}
