using System.Globalization;
using Predicate = System.Func<System.Func<string, object?>, bool>;

namespace OrleansCrm.Segments;

/// <summary>
/// Recursive-descent parser that compiles as it reads: each rule returns the closure that evaluates it, so a
/// definition is turned into a delegate tree once and never looked at again. One method per grammar rule (see
/// <see cref="SegmentExpression"/>); one token of look-ahead.
/// </summary>
internal sealed class SegmentParser
{
    private readonly string text;
    private readonly SegmentLexer lexer;
    private readonly List<string> fields = [];
    private SegmentToken current;
    private int depth;

    private SegmentParser(string text)
    {
        this.text = text;
        lexer = new SegmentLexer(text);
    }

    /// <summary>Compiles a whole definition; returns the predicate and the facts it reads, in order of first use.</summary>
    public static (Predicate Predicate, List<string> Fields) Compile(string text)
    {
        var parser = new SegmentParser(text);
        if (text.Length > SegmentExpression.MaxLength)
        {
            throw new SegmentSyntaxException(text, SegmentExpression.MaxLength,
                string.Create(CultureInfo.InvariantCulture, $"a segment definition may be at most {SegmentExpression.MaxLength} characters long, this one has {text.Length}"));
        }

        parser.Advance();
        var predicate = parser.ParseOr();
        if (parser.current.Kind != SegmentTokenKind.End)
        {
            throw parser.Expected("\"and\", \"or\" or the end of the definition");
        }

        return (predicate, parser.fields);
    }

    // or-expr := and-expr ("or" and-expr)*
    private Predicate ParseOr()
    {
        var first = ParseAnd();
        if (!IsKeyword("or"))
        {
            return first;
        }

        var parts = new List<Predicate> { first };
        while (IsKeyword("or"))
        {
            Advance();
            parts.Add(ParseAnd());
        }

        var all = parts.ToArray();
        return facts =>
        {
            foreach (var part in all)
            {
                if (part(facts))
                {
                    return true;
                }
            }

            return false;
        };
    }

    // and-expr := unary ("and" unary)*
    private Predicate ParseAnd()
    {
        var first = ParseUnary();
        if (!IsKeyword("and"))
        {
            return first;
        }

        var parts = new List<Predicate> { first };
        while (IsKeyword("and"))
        {
            Advance();
            parts.Add(ParseUnary());
        }

        var all = parts.ToArray();
        return facts =>
        {
            foreach (var part in all)
            {
                if (!part(facts))
                {
                    return false;
                }
            }

            return true;
        };
    }

    // unary := "not" unary | "(" or-expr ")" | predicate
    private Predicate ParseUnary()
    {
        if (IsKeyword("not"))
        {
            Enter();
            Advance();
            var inner = ParseUnary();
            depth--;
            return facts => !inner(facts);
        }

        if (current.Kind == SegmentTokenKind.LeftParen)
        {
            var open = current.Position;
            Enter();
            Advance();
            var inner = ParseOr();
            if (current.Kind != SegmentTokenKind.RightParen)
            {
                throw Expected(string.Create(CultureInfo.InvariantCulture, $"\"and\", \"or\" or \")\" to close the \"(\" at {open}"));
            }

            Advance();
            depth--;
            return inner;
        }

        return ParsePredicate();
    }

    // predicate := field (compare-op value | ["not"] "in" list | "contains" string | "exists" | "missing")
    private Predicate ParsePredicate()
    {
        if (current.Kind != SegmentTokenKind.Identifier)
        {
            throw Expected("a field, \"not\" or \"(\"");
        }

        var name = current;
        var field = SegmentFields.Resolve(name.Value, out var problem) ?? throw new SegmentSyntaxException(text, name.Position, problem);
        if (!fields.Contains(field, StringComparer.Ordinal))
        {
            fields.Add(field);
        }

        var isList = SegmentFields.IsList(field);
        Advance();
        var op = current;
        if (op.Kind == SegmentTokenKind.Keyword && op.Value is "exists" or "missing")
        {
            Advance();
            return op.Value == "exists" ? facts => facts(field) is not null : facts => facts(field) is null;
        }

        if (op.Kind == SegmentTokenKind.Keyword && op.Value == "contains")
        {
            if (!isList)
            {
                throw new SegmentSyntaxException(text, op.Position, $"\"contains\" tests a list (tags, segments, products), and \"{name.Text}\" is not one; use \"=\" or \"in\"");
            }

            Advance();
            if (current.Kind != SegmentTokenKind.String)
            {
                throw Expected("a string after \"contains\"");
            }

            var item = current.Value;
            Advance();
            return facts => facts(field) is IEnumerable<string> list && list.Contains(item, StringComparer.OrdinalIgnoreCase);
        }

        var comparison = op.Kind == SegmentTokenKind.Operator
            || (op.Kind == SegmentTokenKind.Keyword && op.Value is "in" or "not");
        if (!comparison)
        {
            throw Expected($"an operator after \"{name.Text}\" (=, !=, >, >=, <, <=, in, not in, contains, exists or missing)");
        }

        if (isList)
        {
            throw new SegmentSyntaxException(text, op.Position, $"\"{name.Text}\" is a list; test it with contains, exists or missing");
        }

        Advance();
        if (op.Kind == SegmentTokenKind.Keyword)
        {
            var negated = op.Value == "not";
            if (negated)
            {
                if (!IsKeyword("in"))
                {
                    throw Expected("\"in\" after \"not\"");
                }

                Advance();
            }

            var set = ParseList(negated ? "not in" : "in");
            return negated
                ? facts => facts(field) is not { } fact || !set.Matches(fact)
                : facts => facts(field) is { } fact && set.Matches(fact);
        }

        if (op.Value is "=" or "!=")
        {
            var set = new SegmentValues();
            set.Add(ParseValue($"\"{op.Value}\""));
            return op.Value == "="
                ? facts => facts(field) is { } fact && set.Matches(fact)
                : facts => facts(field) is not { } fact || !set.Matches(fact);
        }

        if (current.Kind != SegmentTokenKind.Number)
        {
            throw Expected($"a number after \"{op.Value}\"");
        }

        var bound = current.Number;
        Advance();
        return op.Value switch
        {
            ">" => facts => SegmentValues.AsNumber(facts(field)) is { } x && x > bound,
            ">=" => facts => SegmentValues.AsNumber(facts(field)) is { } x && x >= bound,
            "<" => facts => SegmentValues.AsNumber(facts(field)) is { } x && x < bound,
            _ => facts => SegmentValues.AsNumber(facts(field)) is { } x && x <= bound,
        };
    }

    // list := "(" value ("," value)* ")"
    private SegmentValues ParseList(string keyword)
    {
        if (current.Kind != SegmentTokenKind.LeftParen)
        {
            throw Expected($"\"(\" after \"{keyword}\"");
        }

        Advance();
        var set = new SegmentValues();
        set.Add(ParseValue($"\"{keyword} (\""));
        while (current.Kind == SegmentTokenKind.Comma)
        {
            Advance();
            set.Add(ParseValue("\",\""));
        }

        if (current.Kind != SegmentTokenKind.RightParen)
        {
            throw Expected($"\",\" or \")\" after a value in the \"{keyword}\" list");
        }

        Advance();
        return set;
    }

    // value := number | string | "true" | "false"
    private object ParseValue(string after)
    {
        object value = current switch
        {
            { Kind: SegmentTokenKind.Number } t => t.Number,
            { Kind: SegmentTokenKind.String } t => t.Value,
            { Kind: SegmentTokenKind.Keyword, Value: "true" } => true,
            { Kind: SegmentTokenKind.Keyword, Value: "false" } => false,
            _ => throw Expected($"a value after {after}"),
        };
        Advance();
        return value;
    }

    private bool IsKeyword(string keyword) => current.Kind == SegmentTokenKind.Keyword && current.Value == keyword;

    private void Advance() => current = lexer.Next();

    /// <summary>Counts one level of "(" or "not", refusing definitions nested deeper than the recursion may safely go.</summary>
    private void Enter()
    {
        if (++depth > SegmentExpression.MaxDepth)
        {
            throw new SegmentSyntaxException(text, current.Position,
                string.Create(CultureInfo.InvariantCulture, $"nesting is deeper than {SegmentExpression.MaxDepth} levels of \"(\" and \"not\""));
        }
    }

    private SegmentSyntaxException Expected(string what) => new(text, current.Position, $"expected {what} but found {Describe(current)}");

    private static string Describe(SegmentToken token) => token.Kind switch
    {
        SegmentTokenKind.End => "the end of the definition",
        SegmentTokenKind.String => token.Text.Length > 24 ? token.Text[..20] + "...\"" : token.Text,
        _ => $"\"{token.Text}\"",
    };
}
