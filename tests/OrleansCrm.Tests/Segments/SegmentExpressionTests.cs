using OrleansCrm.Segments;

namespace OrleansCrm.Tests.Segments;

public sealed class SegmentExpressionTests
{
    private const string Example = """churnRisk >= 0.7 and region in ("north", "east") and daysSinceLastPurchase > 90""";

    private static Func<string, object?> Facts(params (string Name, object? Value)[] facts)
    {
        var map = facts.ToDictionary(f => f.Name, f => f.Value, StringComparer.Ordinal);
        return name => map.GetValueOrDefault(name);
    }

    /// <summary>A customer with one of everything, for the operator tests.</summary>
    private static readonly Func<string, object?> Customer = Facts(
        ("customer.region", "North"),
        ("customer.purchaseCount", 12L),
        ("customer.purchaseTotal", 2500.50m),
        ("customer.daysSinceLastPurchase", 120.5),
        ("customer.tags", new SortedSet<string>(["vip", "newsletter"], StringComparer.Ordinal)),
        ("customer.attributes.Contract", "gold"),
        ("customer.attributes.Score", "7.5"),
        ("customer.scores.churnRisk", 0.82),
        ("consent.email.marketing", true),
        ("consent.sms.marketing", false));

    public static TheoryData<double?, string?, double?, bool> ExampleCases => new()
    {
        { 0.8, "north", 120, true },
        { 0.7, "EAST", 90.5, true },
        { 0.69, "north", 120, false },
        { 0.9, "south", 120, false },
        { 0.9, "north", 90, false },
        { 0.9, "north", null, false },
        { null, "north", 120, false },
        { 0.9, null, 120, false },
    };

    [Theory]
    [MemberData(nameof(ExampleCases))]
    public void The_example_definition_selects_at_risk_customers_in_the_north_and_east_who_have_not_bought_for_90_days(
        double? churnRisk, string? region, double? days, bool expected)
    {
        var segment = SegmentExpression.Parse(Example);

        var facts = Facts(("customer.scores.churnRisk", churnRisk), ("customer.region", region), ("customer.daysSinceLastPurchase", days));

        Assert.Equal(expected, segment.Evaluate(facts));
        Assert.Equal(expected, segment.Compiled(facts));
    }

    [Fact]
    public void A_definition_reports_the_facts_it_reads_once_each_and_whether_it_moves_with_the_clock()
    {
        var segment = SegmentExpression.Parse(Example + " or region = \"west\"");

        Assert.Equal(["customer.scores.churnRisk", "customer.region", "customer.daysSinceLastPurchase"], segment.Fields);
        Assert.True(segment.DependsOnTime);
        Assert.Equal(Example + " or region = \"west\"", segment.Text);
    }

    [Theory]
    [InlineData("region = \"north\" and tags contains \"vip\"", false)]
    [InlineData("attributes.Contract = \"gold\" or scores.historicalValue > 10", false)]
    [InlineData("consent.email.marketing = true", false)]
    [InlineData("ageYears >= 18", true)]
    [InlineData("spend90Days > 100", true)]
    [InlineData("rfm > 3", true)]
    [InlineData("scores.riskFlag = 1", true)]
    public void Only_definitions_reading_recency_spend_windows_age_or_computed_scores_depend_on_time(string text, bool dependsOnTime) =>
        Assert.Equal(dependsOnTime, SegmentExpression.Parse(text).DependsOnTime);

    [Theory]
    [InlineData("region", "customer.region")]
    [InlineData("PurchaseCount", "customer.purchaseCount")]
    [InlineData("tags", "customer.tags")]
    [InlineData("attributes.Contract", "customer.attributes.Contract")]
    [InlineData("scores.rfm", "customer.scores.rfm")]
    [InlineData("scores.responsePropensity.loans.email", "customer.scores.responsePropensity.loans.email")]
    [InlineData("churnRisk", "customer.scores.churnRisk")]
    [InlineData("predictedValue52w", "customer.scores.predictedValue52w")]
    [InlineData("consent.email.marketing", "consent.email.marketing")]
    public void Identifiers_resolve_to_the_fact_names_the_customer_facts_answer(string identifier, string fact) =>
        Assert.Equal([fact], SegmentExpression.Parse(identifier + " exists").Fields);

    [Theory]
    [InlineData("region = \"north\"", true)]
    [InlineData("region = \"NORTH\"", true)]
    [InlineData("region = \"south\"", false)]
    [InlineData("region != \"south\"", true)]
    [InlineData("region != \"north\"", false)]
    [InlineData("purchaseCount = 12", true)]
    [InlineData("purchaseCount = 12.0", true)]
    [InlineData("purchaseCount = \"12\"", true)]
    [InlineData("purchaseCount > 11", true)]
    [InlineData("purchaseCount > 12", false)]
    [InlineData("purchaseCount >= 12", true)]
    [InlineData("purchaseCount < 12", false)]
    [InlineData("purchaseCount <= 12", true)]
    [InlineData("purchaseTotal > 2500.49", true)]
    [InlineData("purchaseTotal < -3", false)]
    [InlineData("purchaseTotal > -3", true)]
    [InlineData("purchaseTotal > 2.5e3", true)]
    [InlineData("attributes.Score > 7", true)]
    [InlineData("attributes.Score = 7.5", true)]
    [InlineData("attributes.Contract > 1", false)]
    [InlineData("region in (\"south\", \"north\")", true)]
    [InlineData("region in (\"south\", \"west\")", false)]
    [InlineData("region not in (\"south\", \"west\")", true)]
    [InlineData("region not in (\"south\", \"north\")", false)]
    [InlineData("purchaseCount in (1, 12, \"x\")", true)]
    [InlineData("purchaseCount not in (1, 2)", true)]
    [InlineData("tags contains \"VIP\"", true)]
    [InlineData("tags contains \"gold\"", false)]
    [InlineData("tags exists", true)]
    [InlineData("segments missing", true)]
    [InlineData("region exists", true)]
    [InlineData("region missing", false)]
    [InlineData("churnRisk >= 0.82", true)]
    [InlineData("consent.email.marketing = true", true)]
    [InlineData("consent.email.marketing = false", false)]
    [InlineData("consent.sms.marketing = false", true)]
    [InlineData("consent.sms.marketing != true", true)]
    [InlineData("consent.post.marketing missing", true)]
    [InlineData("consent.post.marketing != true", true)]
    [InlineData("consent.post.marketing = false", false)]
    public void Each_operator_tests_a_present_fact_as_the_rule_conditions_do(string text, bool expected) =>
        Assert.Equal(expected, SegmentExpression.Parse(text).Evaluate(Customer));

    [Theory]
    [InlineData("=", "1", false)]
    [InlineData("!=", "1", true)]
    [InlineData(">", "1", false)]
    [InlineData(">=", "1", false)]
    [InlineData("<", "1", false)]
    [InlineData("<=", "1", false)]
    [InlineData("in", "(1, \"x\")", false)]
    [InlineData("not in", "(1, \"x\")", true)]
    [InlineData("exists", "", false)]
    [InlineData("missing", "", true)]
    public void A_missing_fact_fails_every_test_except_not_equal_not_in_and_missing(string op, string operand, bool expected) =>
        Assert.Equal(expected, SegmentExpression.Parse($"attributes.absent {op} {operand}").Evaluate(Customer));

    [Fact]
    public void A_missing_list_contains_nothing() =>
        Assert.False(SegmentExpression.Parse("segments contains \"x\"").Evaluate(Customer));

    [Theory]
    [InlineData("region = \"north\" or region = \"x\" and purchaseCount = 0", true)]
    [InlineData("(region = \"north\" or region = \"x\") and purchaseCount = 0", false)]
    [InlineData("purchaseCount = 0 and region = \"x\" or region = \"north\"", true)]
    [InlineData("purchaseCount = 0 and (region = \"x\" or region = \"north\")", false)]
    [InlineData("not region = \"north\" or purchaseCount = 12", true)]
    [InlineData("not (region = \"north\" or purchaseCount = 12)", false)]
    [InlineData("not region = \"north\" and purchaseCount = 12", false)]
    [InlineData("not not region = \"north\"", true)]
    [InlineData("((((region = \"north\"))))", true)]
    public void Not_binds_tighter_than_and_which_binds_tighter_than_or_and_parentheses_override_both(string text, bool expected) =>
        Assert.Equal(expected, SegmentExpression.Parse(text).Evaluate(Customer));

    [Fact]
    public void Keywords_and_short_field_names_are_case_insensitive() =>
        Assert.True(SegmentExpression.Parse("REGION In (\"north\") AND Not Tags CONTAINS \"gold\" Or Segments MISSING and consent.email.marketing = TRUE").Evaluate(Customer));

    [Fact]
    public void Strings_unescape_quotes_and_backslashes_and_may_span_lines()
    {
        var segment = SegmentExpression.Parse("attributes.Note = \"say \\\"hi\\\" C:\\\\temp\"\n and\tattributes.Note exists");

        Assert.True(segment.Evaluate(Facts(("customer.attributes.Note", "say \"hi\" C:\\temp"))));
        Assert.False(segment.Evaluate(Facts(("customer.attributes.Note", "say hi"))));
    }

    [Fact]
    public void Evaluation_reads_facts_lazily_and_stops_as_soon_as_the_answer_is_known()
    {
        var segment = SegmentExpression.Parse("region = \"south\" and churnRisk > 0.5 or purchaseCount > 1");
        var asked = new List<string>();

        Assert.True(segment.Evaluate(name =>
        {
            asked.Add(name);
            return Customer(name);
        }));
        Assert.Equal(["customer.region", "customer.purchaseCount"], asked);
    }

    [Theory]
    [InlineData("region in (\"north\"", 18, "expected \",\" or \")\" after a value in the \"in\" list but found the end of the definition")]
    [InlineData("region in (\"north\",)", 19, "expected a value after \",\" but found \")\"")]
    [InlineData("region in ()", 11, "expected a value after \"in (\" but found \")\"")]
    [InlineData("region in \"north\"", 10, "expected \"(\" after \"in\" but found \"north\"")]
    [InlineData("region not (\"north\")", 11, "expected \"in\" after \"not\" but found \"(\"")]
    [InlineData("churnRisk >=", 12, "expected a number after \">=\" but found the end of the definition")]
    [InlineData("churnRisk > \"high\"", 12, "expected a number after \">\" but found \"high\"")]
    [InlineData("region = ", 9, "expected a value after \"=\" but found the end of the definition")]
    [InlineData("foo = 1", 0, "unknown field \"foo\"")]
    [InlineData("region = 1 and bar.baz exists", 15, "unknown field \"bar.baz\"")]
    [InlineData("consent.email = true", 0, "consent.<channel>.<purpose>")]
    [InlineData("attributes. exists", 0, "empty part")]
    [InlineData("region == \"x\"", 7, "\"==\" is not an operator")]
    [InlineData("region ! \"x\"", 7, "\"!\" is not an operator")]
    [InlineData("region = 'x'", 9, "double quotes")]
    [InlineData("region = \"north", 9, "the string starting here is not closed")]
    [InlineData("region = \"a\\nb\"", 11, "only \\\" and \\\\ may follow a backslash")]
    [InlineData("region = \"x\" junk", 13, "expected \"and\", \"or\" or the end of the definition but found \"junk\"")]
    [InlineData("region = \"x\")", 12, "expected \"and\", \"or\" or the end of the definition but found \")\"")]
    [InlineData("(region = \"x\"", 13, "to close the \"(\" at 0 but found the end of the definition")]
    [InlineData("region", 6, "expected an operator after \"region\"")]
    [InlineData("region like \"x\"", 7, "expected an operator after \"region\"")]
    [InlineData("", 0, "expected a field, \"not\" or \"(\" but found the end of the definition")]
    [InlineData("and region = 1", 0, "expected a field, \"not\" or \"(\" but found \"and\"")]
    [InlineData("region = 1 or", 13, "expected a field, \"not\" or \"(\" but found the end of the definition")]
    [InlineData("region contains \"x\"", 7, "\"contains\" tests a list")]
    [InlineData("tags = \"vip\"", 5, "\"tags\" is a list")]
    [InlineData("tags contains 1", 14, "expected a string after \"contains\"")]
    [InlineData("purchaseCount > 1.", 18, "expected a digit after the decimal point")]
    [InlineData("purchaseCount > -x", 16, "unexpected character \"-\"")]
    [InlineData("region = \"x\" & purchaseCount > 1", 13, "unexpected character \"&\"")]
    public void A_malformed_definition_is_refused_at_the_position_of_the_mistake(string text, int position, string message)
    {
        var error = Assert.Throws<SegmentSyntaxException>(() => SegmentExpression.Parse(text));

        Assert.Equal(position, error.Position);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.StartsWith($"at {position}: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_error_on_a_later_line_reports_its_line_and_column()
    {
        var error = Assert.Throws<SegmentSyntaxException>(() => SegmentExpression.Parse("region = \"north\"\n  and foo > 1"));

        Assert.Equal(23, error.Position);
        Assert.Equal(2, error.Line);
        Assert.Equal(7, error.Column);
        Assert.StartsWith("unknown field \"foo\"", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Nesting_up_to_32_levels_is_accepted_and_deeper_is_refused_at_the_level_that_overflows()
    {
        Assert.True(SegmentExpression.Parse(new string('(', 32) + "region exists" + new string(')', 32)).Evaluate(Customer));
        Assert.True(SegmentExpression.Parse(string.Concat(Enumerable.Repeat("not ", 32)) + "region exists").Evaluate(Customer));

        var parens = Assert.Throws<SegmentSyntaxException>(() => SegmentExpression.Parse(new string('(', 33) + "region exists" + new string(')', 33)));
        Assert.Equal(32, parens.Position);
        Assert.Contains("deeper than 32", parens.Message, StringComparison.Ordinal);

        var nots = Assert.Throws<SegmentSyntaxException>(() => SegmentExpression.Parse("(" + string.Concat(Enumerable.Repeat("not ", 32)) + "region exists)"));
        Assert.Equal(1 + (31 * 4), nots.Position);
    }

    [Fact]
    public void A_definition_longer_than_2000_characters_is_refused()
    {
        var text = string.Join(" or ", Enumerable.Repeat("region = \"north\"", 200));

        var error = Assert.Throws<SegmentSyntaxException>(() => SegmentExpression.Parse(text));

        Assert.Equal(2000, error.Position);
        Assert.Contains("at most 2000 characters", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_and_evaluate_refuse_null()
    {
        Assert.Throws<ArgumentNullException>(() => SegmentExpression.Parse(null!));
        Assert.Throws<ArgumentNullException>(() => SegmentExpression.Parse("region exists").Evaluate(null!));
    }

    [Fact]
    public void Random_definitions_printed_to_text_parse_back_and_evaluate_like_a_brute_force_interpreter()
    {
        var model = new SegmentModel(new Random(20240611));
        var outcomes = new int[2];
        for (var i = 0; i < 2000; i++)
        {
            var tree = model.Generate(depth: 3);
            var text = model.Print(tree);
            var segment = SegmentExpression.Parse(text);

            Assert.Equal(SegmentModel.FactsRead(tree).Distinct().Order(StringComparer.Ordinal), segment.Fields.Order(StringComparer.Ordinal));
            for (var c = 0; c < 5; c++)
            {
                var facts = model.Customer();
                var expected = SegmentModel.Interpret(tree, facts);
                var actual = segment.Evaluate(name => facts.GetValueOrDefault(name));
                Assert.True(expected == actual, $"\"{text}\" gave {actual}, expected {expected} for {string.Join(", ", facts.Select(f => $"{f.Key}={f.Value}"))}");
                outcomes[expected ? 1 : 0]++;
            }
        }

        // Both answers must be common, or the comparison would prove little.
        Assert.All(outcomes, n => Assert.True(n > 2000, $"false/true outcomes: {outcomes[0]}/{outcomes[1]}"));
    }
}
