using OrleansCrm.Campaigns;
using OrleansCrm.Customers;

namespace OrleansCrm.Tests.Campaigns;

/// <summary>Personalised messages from Liquid templates, and campaign definitions checked before they are stored.</summary>
public sealed class MessageTemplateTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 14, 0, 0, TimeSpan.Zero);

    private static CustomerView Customer(string firstName)
    {
        var state = new CustomerState { Exists = true };
        CustomerAggregate.Apply(state, new CustomerEvent("p", CustomerEventTypes.ProfileChanged, Now.AddDays(-1), "t", null,
            new EventData(Profile: new CustomerProfile(firstName, "King", "ada@example.com", Region: "north", Attributes: new() { ["tier"] = "gold" }))), Now);
        CustomerAggregate.Apply(state, new CustomerEvent("b", CustomerEventTypes.Purchase, Now.AddDays(-2), "t", "web", new EventData(Amount: 120.5m)), Now);
        return CustomerAggregate.View(state, "c42", Now);
    }

    [Fact]
    public async Task A_template_is_filled_from_the_customers_own_data()
    {
        var template = new MessageTemplate("{{ customer.firstName }}, an offer for {{ customer.region }}",
            "Dear {{ customer.firstName }} {{ customer.lastName }} ({{ customer.attributes.tier }}): you spent {{ customer.purchaseTotal }}. {{ offer.name }} — {{ campaign.name }}");

        var message = await MessageTemplates.RenderAsync(template, Customer("Ada"), "winter-1", "Winter", "inv", "Investment plan");

        Assert.Equal("Ada, an offer for north", message.Subject);
        Assert.Equal("Dear Ada King (gold): you spent 120.5. Investment plan — Winter", message.Body);
    }

    [Fact]
    public async Task Html_templates_escape_the_customers_data_and_plain_text_does_not()
    {
        const string Name = "<script>alert('x')</script>&Co";

        var html = await MessageTemplates.RenderAsync(new MessageTemplate("Hi {{ customer.firstName }}", "<p>Hi {{ customer.firstName }}</p>", Html: true), Customer(Name), "c", "C", null, null);
        var text = await MessageTemplates.RenderAsync(new MessageTemplate(null, "Hi {{ customer.firstName }}"), Customer(Name), "c", "C", null, null);

        Assert.Equal("<p>Hi &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;Co</p>", html.Body);
        Assert.DoesNotContain("<script>", html.Body, StringComparison.Ordinal);
        Assert.Equal("Hi " + Name, html.Subject);
        Assert.Equal("Hi " + Name, text.Body);
    }

    [Fact]
    public async Task A_missing_value_can_fall_back_with_the_default_filter()
    {
        var message = await MessageTemplates.RenderAsync(new MessageTemplate(null, "Dear {{ customer.attributes.nickname | default: customer.firstName }}"), Customer("Ada"), "c", "C", null, null);

        Assert.Equal("Dear Ada", message.Body);
    }

    [Theory]
    [InlineData("{% for i in (1..100000) %}{{ customer.firstName }} and some more words to say{% endfor %}")]
    [InlineData("{% assign s = \"ab\" %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}{{ s }}")]
    [InlineData("{% capture s %}{% for i in (1..20000) %}xxxxxxxxxx{% endfor %}{% endcapture %}ok")]
    [InlineData("{% assign a = \"x,y\" | split: \",\" %}{% for i in (1..40) %}{% assign a = a | concat: a | concat: a %}{% endfor %}{{ a.size }}")]
    public async Task A_template_cannot_render_or_hold_more_than_a_message_may_be(string body)
    {
        // Short templates that would grow to megabytes (or without end) per customer are stopped at the bound.
        var template = new MessageTemplate("Hi", body);
        Assert.Equal(["templates.email.body"], MessageTemplates.Validate("email", template).Keys);
        var error = await Assert.ThrowsAsync<MessageTooLargeException>(async () => await MessageTemplates.RenderAsync(template, Customer("Ada"), "c", "C", null, null));
        Assert.Contains("100,000", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_template_that_runs_too_long_is_stopped_as_too_large_not_as_an_error()
    {
        var template = new MessageTemplate("Hi", "{% for i in (1..1000000) %}{% endfor %}done");
        await Assert.ThrowsAsync<MessageTooLargeException>(async () => await MessageTemplates.RenderAsync(template, Customer("Ada"), "c", "C", null, null));
    }

    [Fact]
    public void A_template_that_does_not_parse_is_refused_naming_the_field()
    {
        var errors = MessageTemplates.Validate("email", new MessageTemplate("Hi", "Dear {{ customer.firstName "));
        var fine = MessageTemplates.Validate("email", new MessageTemplate("Hi {{ customer.firstName }}", "{% if customer.region == 'north' %}North{% endif %}"));

        Assert.True(errors.ContainsKey("templates.email.body"), string.Join("; ", errors.Keys));
        Assert.Empty(fine);
    }

    [Fact]
    public void A_campaign_definition_is_checked_field_by_field()
    {
        var bad = new CampaignDefinition("", "blast", [], Channels: ["email", "fax"], ControlShare: 0.9, TimeZone: "Mars/Olympus",
            Policy: new ContactPolicySettings(QuietFromHour: 25));
        var good = new CampaignDefinition("Winter", CampaignTypes.SingleStep, ["winter"], Channels: ["email"],
            Templates: new() { ["email"] = new MessageTemplate("Hi", "Hello") }, ControlShare: 0.1, TimeZone: "Europe/Paris");

        var errors = CampaignValidation.Validate(bad);

        Assert.Equal(
            ["channels[1]", "controlShare", "name", "policy.quietFromHour", "segments", "templates.email", "templates.fax", "timeZone", "type"],
            errors.Keys.Order(StringComparer.Ordinal));
        Assert.Empty(CampaignValidation.Validate(good));
    }
}
