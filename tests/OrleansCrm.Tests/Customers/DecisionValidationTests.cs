using System.Text.Json;
using OrleansCrm.Decisions;

namespace OrleansCrm.Tests.Customers;

public sealed class DecisionValidationTests
{
    private static Dictionary<string, string[]> Validate(string json)
    {
        var rule = DecisionValidation.Parse<Rule>(json, out var field, out var problem);
        return rule is null ? new Dictionary<string, string[]> { [field!] = [problem!] } : DecisionValidation.ValidateRule(rule, "", new HashSet<string> { "known-offer" });
    }

    [Theory]
    [InlineData("""{"id":"r","name":"n","when":{"type":"deposit","conditions":[{"field":"data.amount","op":"=>","value":1}]},"then":[{"action":"tag","tag":"x"}]}""", "when.conditions[0].op", "unknown operator \"=>\"")]
    [InlineData("""{"id":"r","name":"n","when":{"type":"deposit","conditions":[{"field":"data.amout","op":">","value":1}]},"then":[{"action":"tag","tag":"x"}]}""", "when.conditions[0].field", "unknown field \"data.amout\"")]
    [InlineData("""{"id":"r","name":"n","when":{"type":"deposit","conditions":[{"field":"data.amount","op":">","value":"lots"}]},"then":[{"action":"tag","tag":"x"}]}""", "when.conditions[0].value", "> needs a number")]
    [InlineData("""{"id":"r","name":"n","when":{"type":"teleport"},"then":[{"action":"tag","tag":"x"}]}""", "when.type", "unknown event type")]
    [InlineData("""{"id":"r","name":"n","when":{"type":"deposit"},"then":[{"action":"email"}]}""", "then[0].action", "unknown action \"email\"")]
    [InlineData("""{"id":"r","name":"n","when":{"type":"deposit"},"then":[{"action":"proposeOffer","offerId":"nope"}]}""", "then[0].offerId", "no offer \"nope\"")]
    [InlineData("""{"id":"r","name":"n","when":{"type":"deposit"},"then":[]}""", "then", "needs at least one action")]
    [InlineData("""{"id":"r","name":"n","when":{"type":"deposit","conditions":[{"field":"data.amount","op":">","value":1}]},"then":[{"action":"tag","tag":"x"}],}x""", "body", "could not be read")]
    [InlineData("""{"id":"r","name":"n","enabled":"yes","when":{},"then":[{"action":"tag","tag":"x"}]}""", "enabled", "could not be read")]
    public void An_invalid_rule_is_refused_with_a_message_that_points_at_the_error(string json, string path, string message)
    {
        var errors = Validate(json);

        Assert.True(errors.TryGetValue(path, out var problems), $"expected a problem at {path}, got {string.Join("; ", errors.Select(e => e.Key + ": " + e.Value[0]))}");
        Assert.Contains(message, problems[0], StringComparison.Ordinal);
    }

    [Fact]
    public void The_shipped_large_deposit_rule_is_valid_and_matches_large_deposits_only()
    {
        var rule = DecisionValidation.Parse<Rule>(
            """{"id":"r","name":"n","enabled":true,"when":{"type":"deposit","conditions":[{"field":"data.amount","op":">=","value":10000}]},"then":[{"action":"tag","tag":"x"}]}""",
            out _, out _)!;

        Assert.Empty(DecisionValidation.ValidateRule(rule, "", null));
        var condition = rule.When!.Conditions![0];
        Assert.True(condition.Evaluate(f => f == "data.amount" ? 10_000m : null));
        Assert.False(condition.Evaluate(f => f == "data.amount" ? 9_999.99m : null));
        Assert.False(condition.Evaluate(_ => null));
    }

    [Fact]
    public void Conditions_compare_strings_lists_and_missing_facts_sensibly()
    {
        static Condition C(string op, object value) => new("customer.region", op, JsonSerializer.SerializeToElement(value));

        Assert.True(C("=", "North").Evaluate(_ => "north"));
        Assert.True(C("in", new[] { "east", "north" }).Evaluate(_ => "north"));
        Assert.True(C("notIn", new[] { "east" }).Evaluate(_ => null));
        Assert.True(new Condition("customer.tags", "contains", JsonSerializer.SerializeToElement("vip")).Evaluate(_ => new[] { "VIP" }));
        Assert.False(C("!=", "north").Evaluate(_ => "north"));
    }
}
