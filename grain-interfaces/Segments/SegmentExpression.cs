using Predicate = System.Func<System.Func<string, object?>, bool>;

namespace OrleansCrm.Segments;

/// <summary>
/// A parsed and compiled segment definition, e.g.
/// <c>churnRisk &gt;= 0.7 and region in ("north", "east") and daysSinceLastPurchase &gt; 90</c>.
/// Parsing compiles the text into a tree of closures once, so evaluating it for many customers costs no parsing and
/// no reflection. Immutable and safe to share between grains.
/// <para>Grammar (keywords case-insensitive, loosest binding first):</para>
/// <code>
/// expression := and-expr ("or" and-expr)*
/// and-expr   := unary ("and" unary)*
/// unary      := "not" unary | "(" expression ")" | predicate
/// predicate  := field ( ("=" | "!=") value
///                     | ("&gt;" | "&gt;=" | "&lt;" | "&lt;=") number
///                     | ["not"] "in" "(" value ("," value)* ")"
///                     | "contains" string
///                     | "exists" | "missing" )
/// value      := number | string | "true" | "false"
/// number     := ["-"] digits ["." digits] [("e" | "E") ["+" | "-"] digits]      (invariant culture)
/// string     := '"' (any character but '"' and '\', or \" or \\)* '"'
/// field      := (letter | "_") (letter | digit | "_" | ".")*
/// </code>
/// <para>
/// Fields: a customer fact by its short name (<c>region</c>, <c>purchaseCount</c>, <c>tags</c>, ... see
/// <see cref="Decisions.Facts.CustomerFacts"/>), a score by name (<c>churnRisk</c>, <c>rfm</c>, ...),
/// <c>attributes.&lt;key&gt;</c>, <c>scores.&lt;name&gt;</c>, or <c>consent.&lt;channel&gt;.&lt;purpose&gt;</c>
/// (true when granted, false when revoked, missing when never given). Unknown fields are refused when parsing rather
/// than silently matching nobody. Lists (<c>tags</c>, <c>segments</c>, <c>products</c>) take only <c>contains</c>,
/// <c>exists</c> and <c>missing</c>.
/// </para>
/// <para>
/// Semantics are those of <see cref="Decisions.Condition"/>: numbers compare as doubles, strings case-insensitively,
/// and a missing fact fails every test except <c>!=</c>, <c>not in</c> and <c>missing</c>.
/// </para>
/// </summary>
public sealed class SegmentExpression
{
    /// <summary>Longest definition accepted; segments are hand-written, and a cap bounds parse time and memory.</summary>
    public const int MaxLength = 2000;

    /// <summary>Deepest nesting of "(" and "not" accepted, so the recursive parser and the closures it builds cannot
    /// exhaust the stack.</summary>
    public const int MaxDepth = 32;

    private readonly Predicate predicate;

    private SegmentExpression(string text, Predicate predicate, IReadOnlyList<string> fields)
    {
        Text = text;
        this.predicate = predicate;
        Fields = fields;
        DependsOnTime = fields.Any(SegmentFields.DependsOnTime);
    }

    /// <summary>The definition as written.</summary>
    public string Text { get; }

    /// <summary>
    /// The fact names the definition reads (e.g. <c>customer.region</c>, <c>customer.scores.churnRisk</c>,
    /// <c>consent.email.marketing</c>), each once, in order of first use: membership can only change when one of them
    /// does, which tells the caller which events need a re-evaluation.
    /// </summary>
    public IReadOnlyList<string> Fields { get; }

    /// <summary>
    /// True when a fact read is computed against the clock (<c>daysSinceLastPurchase</c>, <c>ageYears</c>,
    /// <c>spend30Days</c>/<c>spend90Days</c>/<c>spend365Days</c>, and every score but <c>historicalValue</c>), so
    /// membership can change with no event at all and must be re-evaluated periodically.
    /// </summary>
    public bool DependsOnTime { get; }

    /// <summary>
    /// The compiled form: given a facts function (fact name to value, null when missing) tells whether the customer is
    /// in the segment. The facts function is also asked for <c>consent.&lt;channel&gt;.&lt;purpose&gt;</c>.
    /// </summary>
    public Predicate Compiled => predicate;

    /// <summary>Reads and compiles a definition, or throws <see cref="SegmentSyntaxException"/> at the first mistake.</summary>
    public static SegmentExpression Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var (predicate, fields) = SegmentParser.Compile(text);
        return new SegmentExpression(text, predicate, fields.AsReadOnly());
    }

    /// <summary>True when the customer whose facts are given belongs to the segment.</summary>
    public bool Evaluate(Func<string, object?> facts)
    {
        ArgumentNullException.ThrowIfNull(facts);
        return predicate(facts);
    }

    /// <inheritdoc/>
    public override string ToString() => Text;
}
