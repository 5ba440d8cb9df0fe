using System.Collections.Concurrent;
using System.Text.Encodings.Web;
using Fluid;
using OrleansCrm.Customers;

namespace OrleansCrm.Campaigns;

/// <summary>A message rendered for one customer.</summary>
public sealed record RenderedMessage(string? Subject, string Body, bool Html);

/// <summary>
/// Personalised messages from Liquid templates (Fluid): <c>Dear {{ customer.firstName | default: "customer" }}</c>.
/// Values come from the customer's own data; in an HTML template every value is HTML-encoded, so a name such as
/// <c>&lt;script&gt;</c> arrives as text. Templates are parsed once and cached; a template that does not parse is
/// refused when the campaign is saved, with the parser's line and column.
/// </summary>
public static class MessageTemplates
{
    public const int MaxTemplateLength = 20_000;

    private static readonly FluidParser Parser = new();
    private static readonly TemplateOptions Options = new() { MaxSteps = 100_000, MaxRecursion = 20 };
    private static readonly ConcurrentDictionary<string, IFluidTemplate> Cache = new(StringComparer.Ordinal);

    /// <summary>Problems of a channel's template by field (<c>templates.email.body</c>: "…"); empty when it parses.</summary>
    public static Dictionary<string, string[]> Validate(string channel, MessageTemplate? template)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (template is null || string.IsNullOrEmpty(template.Body))
        {
            errors[$"templates.{channel}.body"] = ["is required"];
            return errors;
        }

        foreach (var (field, text) in new[] { ("subject", template.Subject), ("body", template.Body) })
        {
            if (text is null)
            {
                continue;
            }

            if (text.Length > MaxTemplateLength)
            {
                errors[$"templates.{channel}.{field}"] = [$"is longer than {MaxTemplateLength} characters"];
            }
            else if (!Parser.TryParse(text, out _, out var error))
            {
                errors[$"templates.{channel}.{field}"] = [error];
            }
        }

        return errors;
    }

    public static RenderedMessage Render(MessageTemplate template, CustomerView customer, string campaignId, string campaignName, string? offerId, string? offerName)
    {
        var context = new TemplateContext(Options);
        context.SetValue("customer", Fluid.Values.FluidValue.Create(Model(customer), Options));
        context.SetValue("campaign", Fluid.Values.FluidValue.Create(new Dictionary<string, object?> { ["id"] = campaignId, ["name"] = campaignName }, Options));
        context.SetValue("offer", Fluid.Values.FluidValue.Create(new Dictionary<string, object?> { ["id"] = offerId, ["name"] = offerName }, Options));

        // Subjects are plain text even in an HTML e-mail: header encoding is the sender's concern, not HTML's.
        var subject = template.Subject is null ? null : Parse(template.Subject).Render(context, NullEncoder.Default);
        var body = Parse(template.Body).Render(context, template.Html ? HtmlEncoder.Default : NullEncoder.Default);
        return new RenderedMessage(subject, body, template.Html);
    }

    private static IFluidTemplate Parse(string text)
    {
        if (Cache.Count > 1_000)
        {
            // Templates are a campaign's few texts; an unusual number of them means old versions piled up.
            Cache.Clear();
        }

        return Cache.GetOrAdd(text, t => Parser.TryParse(t, out var parsed, out var error)
            ? parsed
            : throw new ArgumentException($"template does not parse: {error}", nameof(text)));
    }

    /// <summary>What a template may read of the customer: the view's fields, camelCase, as a marketer sees them.</summary>
    private static Dictionary<string, object?> Model(CustomerView v) => new(StringComparer.Ordinal)
    {
        ["id"] = v.CustomerId,
        ["firstName"] = v.FirstName,
        ["lastName"] = v.LastName,
        ["email"] = v.Emails.FirstOrDefault(),
        ["phone"] = v.Phones.FirstOrDefault(),
        ["region"] = v.Region,
        ["orgUnit"] = v.OrgUnit,
        ["accountManager"] = v.AccountManager,
        ["preferredChannel"] = v.PreferredChannel,
        ["city"] = v.Address?.City,
        ["purchaseCount"] = v.Transactions.PurchaseCount,
        ["purchaseTotal"] = v.Transactions.PurchaseTotal,
        ["lastPurchaseAt"] = v.Transactions.LastPurchaseAt,
        ["tags"] = v.Tags,
        ["products"] = v.Products.Select(p => p.Name ?? p.ProductId).ToArray(),
        ["attributes"] = v.Attributes.ToDictionary(kv => kv.Key, kv => (object?)kv.Value, StringComparer.Ordinal),
    };
}
