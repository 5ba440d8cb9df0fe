namespace OrleansCrm.Customers;

/// <summary>What makes an event acceptable. Shared by the gateway (to answer 400 naming the field) and the grain
/// (which refuses anything that slipped past), so an invalid event is never stored.</summary>
public static class CustomerEventRules
{
    public const int MaxIdLength = 128;
    public const int MaxTextLength = 500;
    public const int MaxNoteLength = 4000;
    public static readonly TimeSpan MaxFutureSkew = TimeSpan.FromDays(1);
    public static readonly DateTimeOffset EarliestOccurredAt = new(1900, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The id of the marker an erasure leaves in the log (docs/privacy.md).</summary>
    public const string ErasureEventId = "erasure";

    /// <summary>Why a caller may not choose <paramref name="id"/> as an event id, or null. Ids holding '/' and the
    /// erasure marker's id are the CRM's own (merged copies <c>customer/event</c>, campaign contacts, prospect rows, the
    /// unit a new customer is given): a caller's event with such an id could displace one of them.</summary>
    public static string? ReservedIdProblem(string? id) =>
        id is not null && (id == ErasureEventId || id.Contains('/'))
            ? $"is reserved for the CRM's own events (ids containing '/' and \"{ErasureEventId}\"); choose another id"
            : null;

    /// <summary>As <see cref="Validate"/>, for an event a caller sent: its id may not be one of the CRM's own.</summary>
    public static Dictionary<string, string[]> ValidateFromCaller(CustomerEvent e, DateTimeOffset now, string prefix = "")
    {
        var errors = Validate(e, now, prefix);
        if (!errors.ContainsKey(prefix + "eventId") && ReservedIdProblem(e.EventId) is { } problem)
        {
            errors[prefix + "eventId"] = [problem];
        }

        return errors;
    }

    public static IReadOnlySet<string> Channels { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "phone", "email", "sms", "web", "app", "push", "chat", "branch", "mail", "social", "pos",
    };

    /// <summary>Problems keyed by the field's JSON path (<c>type</c>, <c>data.amount</c>); empty when valid.</summary>
    public static Dictionary<string, string[]> Validate(CustomerEvent e, DateTimeOffset now, string prefix = "")
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        void Add(string field, string problem) => errors[prefix + field] = [problem];

        if (string.IsNullOrWhiteSpace(e.EventId))
        {
            Add("eventId", "is required");
        }
        else if (e.EventId.Length > MaxIdLength)
        {
            Add("eventId", $"must be at most {MaxIdLength} characters");
        }

        if (string.IsNullOrWhiteSpace(e.Type))
        {
            Add("type", "is required");
        }
        else if (CustomerEventTypes.Find(e.Type) is not { } type)
        {
            Add("type", $"unknown event type \"{Truncate(e.Type)}\"");
        }
        else if (!type.AcceptedFromCallers)
        {
            Add("type", $"\"{e.Type}\" is written by the CRM itself and cannot be recorded");
        }

        if (e.OccurredAt == default)
        {
            Add("occurredAt", "is required");
        }
        else if (e.OccurredAt > now + MaxFutureSkew)
        {
            Add("occurredAt", "is in the future");
        }
        else if (e.OccurredAt < EarliestOccurredAt)
        {
            Add("occurredAt", "is before 1900");
        }

        if (e.Channel is not null && !Channels.Contains(e.Channel))
        {
            Add("channel", $"must be one of {string.Join(", ", Channels)}");
        }

        if (e.Source is { Length: > MaxTextLength })
        {
            Add("source", $"must be at most {MaxTextLength} characters");
        }

        foreach (var (field, value) in new[] { ("eventId", e.EventId), ("type", e.Type), ("channel", e.Channel), ("source", e.Source) })
        {
            if (!IsText(value))
            {
                Add(field, NotTextProblem);
            }
        }

        CheckData(e, Add);
        return errors;
    }

    private static void CheckData(CustomerEvent e, Action<string, string> add)
    {
        var d = e.Data;
        foreach (var (name, value) in new[]
        {
            ("currency", d.Currency), ("productId", d.ProductId), ("productName", d.ProductName), ("category", d.Category),
            ("caseId", d.CaseId), ("subject", d.Subject), ("agent", d.Agent), ("outcome", d.Outcome), ("campaign", d.Campaign),
            ("url", d.Url), ("purpose", d.Purpose), ("reference", d.Reference), ("offerId", d.OfferId),
        })
        {
            if (value is { Length: > MaxTextLength })
            {
                add($"data.{name}", $"must be at most {MaxTextLength} characters");
            }
            else if (!IsText(value))
            {
                add($"data.{name}", NotTextProblem);
            }
        }

        if (!IsText(d.Note))
        {
            add("data.note", NotTextProblem);
        }

        if (d.Note is { Length: > MaxNoteLength })
        {
            add("data.note", $"must be at most {MaxNoteLength} characters");
        }

        if (d.Amount is { } amount && (amount < 0 || amount > 1_000_000_000m))
        {
            add("data.amount", "must be between 0 and 1,000,000,000");
        }

        if (d.Quantity is { } quantity && (quantity < 0 || quantity > 1_000_000))
        {
            add("data.quantity", "must be between 0 and 1,000,000");
        }

        if (CustomerEventTypes.Find(e.Type) is not { AcceptedFromCallers: true } type)
        {
            return;
        }

        foreach (var field in type.Requires)
        {
            if (!field.IsPresent(e))
            {
                add(field.Path, $"is required for {e.Type}");
            }
        }

        // Beyond presence: what the value of a kind's own field must be.
        switch (type.Kind)
        {
            case EventKind.Profile when d.Profile is not null:
                foreach (var (field, problem) in CustomerProfileRules.Validate(d.Profile))
                {
                    add("data.profile." + field, problem);
                }

                break;
            case EventKind.OfferOutcome when d.Outcome is null || !CustomerEventTypes.OfferOutcomes.Contains(d.Outcome):
                add("data.outcome", "must be accepted, declined or notnow");
                break;
            default:
                break;
        }
    }

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "…";

    /// <summary>What a text field may not hold: a NUL (PostgreSQL cannot store it) or half of a surrogate pair (not a
    /// character at all; it cannot be encoded to UTF-8). JSON can carry both as escapes (<c>\u0000</c>, <c>\ud800</c>).</summary>
    public const string NotTextProblem = "contains a character that is not text (NUL or half of a surrogate pair)";

    /// <summary>Whether <paramref name="value"/> is storable text: no NUL, every surrogate in a pair.</summary>
    public static bool IsText(string? value)
    {
        if (value is null)
        {
            return true;
        }

        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '\0' || char.IsLowSurrogate(c))
            {
                return false;
            }

            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= value.Length || !char.IsLowSurrogate(value[i + 1]))
                {
                    return false;
                }

                i++;
            }
        }

        return true;
    }
}

/// <summary>What makes a profile change acceptable.</summary>
public static class CustomerProfileRules
{
    public const int MaxNameLength = 200;
    public const int MaxAttributes = 50;
    public const int MaxTags = 50;

    public static IEnumerable<(string Field, string Problem)> Validate(CustomerProfile p)
    {
        foreach (var (field, value) in new[]
        {
            ("firstName", p.FirstName), ("lastName", p.LastName), ("email", p.Email), ("phone", p.Phone), ("orgUnit", p.OrgUnit),
            ("region", p.Region), ("accountManager", p.AccountManager), ("preferredChannel", p.PreferredChannel),
            ("address", p.Address?.Line1), ("address", p.Address?.Line2), ("address", p.Address?.City), ("address", p.Address?.PostalCode),
            ("address", p.Address?.Country),
        })
        {
            if (!CustomerEventRules.IsText(value))
            {
                yield return (field, CustomerEventRules.NotTextProblem);
            }
        }

        if (p.Attributes?.Any(kv => !CustomerEventRules.IsText(kv.Key) || !CustomerEventRules.IsText(kv.Value)) == true)
        {
            yield return ("attributes", CustomerEventRules.NotTextProblem);
        }

        if (p.Tags?.Any(t => !CustomerEventRules.IsText(t)) == true)
        {
            yield return ("tags", CustomerEventRules.NotTextProblem);
        }

        if (p.ExternalIds?.Keys.Any(k => !CustomerEventRules.IsText(k)) == true)
        {
            yield return ("externalIds", CustomerEventRules.NotTextProblem);
        }

        if (p.FirstName is { Length: > MaxNameLength })
        {
            yield return ("firstName", $"must be at most {MaxNameLength} characters");
        }

        if (p.LastName is { Length: > MaxNameLength })
        {
            yield return ("lastName", $"must be at most {MaxNameLength} characters");
        }

        if (p.Email is not null && (p.Email.Length > 254 || !System.Net.Mail.MailAddress.TryCreate(p.Email.Trim(), out var address) || address.Address != p.Email.Trim()))
        {
            yield return ("email", "is not an e-mail address");
        }

        if (p.Phone is not null)
        {
            var digits = p.Phone.Count(char.IsAsciiDigit);
            if (digits < 3 || digits > 20 || p.Phone.Length > 32 || !p.Phone.All(c => char.IsAsciiDigit(c) || c is '+' or ' ' or '-' or '(' or ')' or '.'))
            {
                yield return ("phone", "must be 3-20 digits, optionally with + ( ) - . and spaces");
            }
        }

        if (p.BirthDate is { } birth && (birth.Year < 1900 || birth > DateOnly.FromDateTime(DateTime.UtcNow)))
        {
            yield return ("birthDate", "must be between 1900 and today");
        }

        if (p.OrgUnit is not null && OrleansCrm.Access.OrgUnits.Validate(p.OrgUnit) is { } unitProblem)
        {
            yield return ("orgUnit", unitProblem);
        }

        foreach (var (field, value) in new[] { ("region", p.Region), ("accountManager", p.AccountManager) })
        {
            if (value is { Length: > MaxNameLength })
            {
                yield return (field, $"must be at most {MaxNameLength} characters");
            }
        }

        if (p.PreferredChannel is not null && !CustomerEventRules.Channels.Contains(p.PreferredChannel))
        {
            yield return ("preferredChannel", $"must be one of {string.Join(", ", CustomerEventRules.Channels)}");
        }

        if (p.Address is { } a && new[] { a.Line1, a.Line2, a.City, a.PostalCode, a.Country }.Any(v => v is { Length: > MaxNameLength }))
        {
            yield return ("address", $"each line must be at most {MaxNameLength} characters");
        }

        if (p.Attributes is { } attributes && (attributes.Count > MaxAttributes || attributes.Any(kv => kv.Key.Length is 0 or > 64 || kv.Value is null || kv.Value.Length > CustomerEventRules.MaxTextLength)))
        {
            yield return ("attributes", $"at most {MaxAttributes} entries, keys of 1-64 characters, values of at most {CustomerEventRules.MaxTextLength}");
        }

        if (p.Tags is { } tags && (tags.Length > MaxTags || tags.Any(t => string.IsNullOrWhiteSpace(t) || t.Length > 64)))
        {
            yield return ("tags", $"at most {MaxTags} tags of 1-64 characters");
        }

        if (p.ExternalIds is { } ids && (ids.Count > 10 || ids.Any(kv => kv.Key.Length is 0 or > 64 || CustomerKeys.Validate(kv.Value) is not null)))
        {
            yield return ("externalIds", "at most 10 entries: system name (1-64 characters) to an id of letters, digits and - _ . @ :");
        }
    }
}
