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

    /// <summary>The most characters a message body renders to for one customer (a subject: <see cref="MaxRenderedSubject"/>);
    /// a value a template assigns or captures is held to the same bound, so no loop or doubling can grow without end.</summary>
    public const int MaxRenderedBody = 100_000;

    public const int MaxRenderedSubject = 1_000;

    private static readonly FluidParser Parser = new();
    private static readonly TemplateOptions Options = Bounded(new() { MaxSteps = 100_000, MaxRecursion = 20 });
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

        if (errors.Count == 0)
        {
            // A trial for a customer with no data: a template that is too large for everyone is refused now, not found
            // out customer by customer at launch (one that grows with a customer's data is stopped per customer then).
            try
            {
                var trial = RenderAsync(template, Sample, "campaign", "Campaign", null, null);
                if (trial.IsCompleted)
                {
                    _ = trial.Result;
                }
            }
            catch (MessageTooLargeException e)
            {
                errors[$"templates.{channel}.{(e.Message.Contains("subject", StringComparison.Ordinal) ? "subject" : "body")}"] = [e.Message];
            }
        }

        return errors;
    }

    public static async ValueTask<RenderedMessage> RenderAsync(MessageTemplate template, CustomerView customer, string campaignId, string campaignName, string? offerId, string? offerName)
    {
        var context = new TemplateContext(Options);
        context.SetValue("customer", Fluid.Values.FluidValue.Create(Model(customer), Options));
        context.SetValue("campaign", Fluid.Values.FluidValue.Create(new Dictionary<string, object?> { ["id"] = campaignId, ["name"] = campaignName }, Options));
        context.SetValue("offer", Fluid.Values.FluidValue.Create(new Dictionary<string, object?> { ["id"] = offerId, ["name"] = offerName }, Options));

        // Subjects are plain text even in an HTML e-mail: header encoding is the sender's concern, not HTML's.
        var subject = template.Subject is null ? null : await RenderBoundedAsync(Parse(template.Subject), context, NullEncoder.Default, MaxRenderedSubject, "subject");
        var body = await RenderBoundedAsync(Parse(template.Body), context, template.Html ? HtmlEncoder.Default : NullEncoder.Default, MaxRenderedBody, "body");
        return new RenderedMessage(subject, body, template.Html);
    }

    private static async ValueTask<string> RenderBoundedAsync(IFluidTemplate template, TemplateContext context, TextEncoder encoder, int limit, string part)
    {
        await using var writer = new LimitedWriter(limit, part);
        try
        {
            await template.RenderAsync(writer, encoder, context);
        }
        catch (InvalidOperationException e) when (e is not MessageTooLargeException)
        {
            // Fluid's own bounds: more steps than TemplateOptions.MaxSteps, deeper than MaxRecursion.
            throw new MessageTooLargeException($"the {part} takes more work than a message may: {e.Message}");
        }

        return writer.ToString();
    }

    private static TemplateOptions Bounded(TemplateOptions options)
    {
        options.Assigned = (identifier, value, _) => new ValueTask<Fluid.Values.FluidValue>(Checked(identifier, value));
        options.Captured = (identifier, value, _) => new ValueTask<Fluid.Values.FluidValue>(Checked(identifier, value));
        return options;
    }

    private static Fluid.Values.FluidValue Checked(string identifier, Fluid.Values.FluidValue value) => value switch
    {
        Fluid.Values.StringValue text when text.ToStringValue().Length > MaxRenderedBody =>
            throw new MessageTooLargeException($"the value assigned to '{identifier}' is longer than {MaxRenderedBody:N0} characters"),
        Fluid.Values.ArrayValue list when list.Values.Count > MaxRenderedBody =>
            throw new MessageTooLargeException($"the list assigned to '{identifier}' has more than {MaxRenderedBody:N0} items"),
        _ => value,
    };

    /// <summary>A writer that refuses to hold more than its limit.</summary>
    private sealed class LimitedWriter(int limit, string part) : StringWriter(System.Globalization.CultureInfo.InvariantCulture)
    {
        public override void Write(char value)
        {
            Check(1);
            base.Write(value);
        }

        public override void Write(char[] buffer, int index, int count)
        {
            Check(count);
            base.Write(buffer, index, count);
        }

        public override void Write(string? value)
        {
            Check(value?.Length ?? 0);
            base.Write(value);
        }

        public override void Write(ReadOnlySpan<char> buffer)
        {
            Check(buffer.Length);
            base.Write(buffer);
        }

        private void Check(int more)
        {
            if (GetStringBuilder().Length + more > limit)
            {
                throw new MessageTooLargeException($"the {part} renders to more than {limit:N0} characters");
            }
        }
    }

    private static readonly CustomerView Sample = CustomerAggregate.View(new CustomerState { Exists = true }, "sample", DateTimeOffset.UnixEpoch);

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

/// <summary>A template rendered (or would render) more than a message may hold for a customer.</summary>
public sealed class MessageTooLargeException(string message) : InvalidOperationException(message);
