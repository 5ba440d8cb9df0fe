using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using OrleansCrm.Customers;

namespace OrleansCrm.Gateway.BulkImport;

public enum ImportKind
{
    Customers,
    Transactions,
    Events,
}

/// <summary>
/// Which column feeds which field. Given as <c>field=column</c> pairs separated by commas; a field not mapped is
/// read from a column of the same name (case-insensitive). For customers, <c>attributes=*</c> keeps every unmapped
/// column as a free attribute, or <c>attributes=a;b</c> the ones named.
/// </summary>
public sealed class ImportMapping
{
    public static readonly string[] CustomerFields =
        ["customerId", "firstName", "lastName", "email", "phone", "birthDate", "region", "orgUnit", "accountManager", "preferredChannel", "tags", "city", "country", "postalCode", "line1"];

    public static readonly string[] TransactionFields =
        ["customerId", "eventId", "type", "amount", "occurredAt", "quantity", "productId", "productName", "category", "currency", "channel", "source"];

    public static readonly string[] EventFields =
        ["customerId", "eventId", "type", "occurredAt", "channel", "source", "amount", "currency", "quantity", "productId", "productName",
         "category", "caseId", "subject", "agent", "outcome", "campaign", "url", "purpose", "granted", "reference", "note"];

    /// <summary>What a transactions import says of a type it may not carry (the registry's transaction import types).</summary>
    public static readonly string TransactionTypeProblem =
        $"must be {string.Join(", ", CustomerEventTypes.TransactionImportTypes.SkipLast(1))} or {CustomerEventTypes.TransactionImportTypes[^1]}";

    private readonly Dictionary<string, string> _columns;

    private ImportMapping(ImportKind kind, Dictionary<string, string> columns, string? attributes)
    {
        Kind = kind;
        _columns = columns;
        Attributes = attributes;
    }

    public ImportKind Kind { get; }

    public string? Attributes { get; }

    public IReadOnlyList<string> Fields => FieldsOf(Kind);

    public static string[] FieldsOf(ImportKind kind) => kind switch
    {
        ImportKind.Customers => CustomerFields,
        ImportKind.Transactions => TransactionFields,
        _ => EventFields,
    };

    /// <summary>Parses <paramref name="map"/>; returns null and sets <paramref name="problem"/> when it is malformed.</summary>
    public static ImportMapping? Parse(ImportKind kind, string? map, string? attributes, out string? problem)
    {
        problem = null;
        var fields = FieldsOf(kind);
        var columns = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var pair in (map ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var field = eq > 0 ? pair[..eq].Trim() : "";
            if (eq <= 0 || eq == pair.Length - 1 || !fields.Contains(field, StringComparer.OrdinalIgnoreCase))
            {
                problem = $"\"{pair}\" is not field=column with a field among {string.Join(", ", fields)}";
                return null;
            }

            columns[field] = pair[(eq + 1)..].Trim();
        }

        if (kind != ImportKind.Customers && attributes is not null)
        {
            problem = "attributes applies to customer imports only";
            return null;
        }

        return new ImportMapping(kind, columns, attributes);
    }

    /// <summary>Resolves fields to column indexes for a header; null and a problem when the customer id is missing.</summary>
    public ResolvedMapping? Resolve(IReadOnlyList<string> headers, out string? problem)
    {
        problem = null;
        var index = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (var field in Fields)
        {
            var column = _columns.GetValueOrDefault(field, field);
            var at = IndexOf(headers, column);
            if (at >= 0)
            {
                index[field] = at;
            }
            else if (_columns.ContainsKey(field))
            {
                problem = $"column \"{column}\" mapped to {field} is not in the header";
                return null;
            }
        }

        if (!index.ContainsKey("customerId"))
        {
            problem = "no customerId column: map one with mapping=customerId=<column>";
            return null;
        }

        if (Kind == ImportKind.Transactions && !index.ContainsKey("amount"))
        {
            problem = "no amount column: map one with mapping=amount=<column>";
            return null;
        }

        if (Kind == ImportKind.Events && !(index.ContainsKey("type") && index.ContainsKey("occurredAt")))
        {
            problem = "events need type and occurredAt columns: map them with mapping=type=<column>,occurredAt=<column>";
            return null;
        }

        var attributeColumns = new List<(string, int)>();
        if (Attributes == "*")
        {
            var used = index.Values.ToHashSet();
            attributeColumns.AddRange(headers.Select((h, i) => (h, i)).Where(x => !used.Contains(x.i)));
        }
        else if (!string.IsNullOrWhiteSpace(Attributes))
        {
            foreach (var name in Attributes.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var at = IndexOf(headers, name);
                if (at < 0)
                {
                    problem = $"attribute column \"{name}\" is not in the header";
                    return null;
                }

                attributeColumns.Add((headers[at], at));
            }
        }

        if (attributeColumns.Count > CustomerProfileRules.MaxAttributes)
        {
            problem = $"at most {CustomerProfileRules.MaxAttributes} attribute columns";
            return null;
        }

        return new ResolvedMapping(Kind, index, attributeColumns);
    }

    private static int IndexOf(IReadOnlyList<string> headers, string name)
    {
        for (var i = 0; i < headers.Count; i++)
        {
            if (string.Equals(headers[i].Trim(), name, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }

        return -1;
    }
}

/// <summary>A mapping bound to one file's header: turns each row into a customer id and an event, or a reason.</summary>
public sealed class ResolvedMapping(ImportKind kind, Dictionary<string, int> index, List<(string Name, int Index)> attributes)
{
    private readonly Dictionary<string, int> _occurrences = new(StringComparer.Ordinal);

    public sealed record Row(string CustomerId, CustomerEvent Event);

    /// <summary>Maps one row. Event ids are derived from the row's content (and how many identical rows for the
    /// same customer came before it), so importing the same file again finds only duplicates.</summary>
    public (Row? Row, string? Field, string? Problem) Map(Func<int, string> field, DateTimeOffset asOf, string defaultType)
    {
        string? Get(string name) => index.TryGetValue(name, out var i) && field(i) is { Length: > 0 } v ? v.Trim() : null;

        var customerId = Get("customerId");
        if (CustomerKeys.Validate(customerId) is { } idProblem)
        {
            return (null, "customerId", idProblem);
        }

        CustomerEvent e;
        if (kind == ImportKind.Customers)
        {
            DateOnly? birth = null;
            if (Get("birthDate") is { } b)
            {
                if (!DateOnly.TryParse(b, CultureInfo.InvariantCulture, out var parsed))
                {
                    return (null, "birthDate", $"\"{b}\" is not a date (yyyy-mm-dd)");
                }

                birth = parsed;
            }

            var address = (Get("line1") ?? Get("city") ?? Get("postalCode") ?? Get("country")) is null
                ? null
                : new PostalAddress(Get("line1"), null, Get("city"), Get("postalCode"), Get("country"));
            var attrs = attributes.Count == 0 ? null : attributes.ToDictionary(a => a.Name.Trim(), a => field(a.Index), StringComparer.Ordinal);
            var profile = new CustomerProfile(
                Get("firstName"), Get("lastName"), Get("email"), Get("phone"), birth, address, Get("orgUnit"), Get("region"),
                Get("accountManager"), Get("preferredChannel"), attrs,
                Get("tags")?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            if (CustomerProfileRules.Validate(profile).FirstOrDefault() is { Field: not null } bad)
            {
                return (null, bad.Field, bad.Problem);
            }

            var content = string.Join('\u001f', index.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + field(kv.Value))
                .Concat(attributes.Select(a => a.Name + "=" + field(a.Index))));
            e = new CustomerEvent(Id(customerId!, "c", content), CustomerEventTypes.ProfileChanged, asOf, "import", null, new EventData(Profile: profile));
        }
        else
        {
            var amountText = Get("amount");
            decimal? amount = null;
            if (amountText is not null)
            {
                if (!decimal.TryParse(amountText, NumberStyles.Number | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var parsedAmount))
                {
                    return (null, "amount", $"\"{amountText}\" is not a number");
                }

                amount = parsedAmount;
            }
            else if (kind == ImportKind.Transactions)
            {
                return (null, "amount", "is required");
            }

            bool? granted = null;
            if (Get("granted") is { } g)
            {
                if (!bool.TryParse(g, out var flag))
                {
                    return (null, "granted", $"\"{g}\" is not true or false");
                }

                granted = flag;
            }

            var whenText = Get("occurredAt");
            if (whenText is null || !DateTimeOffset.TryParse(whenText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var when))
            {
                return (null, "occurredAt", whenText is null ? "is required" : $"\"{whenText}\" is not a date or time");
            }

            int? quantity = null;
            if (Get("quantity") is { } q)
            {
                if (!int.TryParse(q, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n))
                {
                    return (null, "quantity", $"\"{q}\" is not a whole number");
                }

                quantity = n;
            }

            var type = Get("type") ?? defaultType;
            if (kind == ImportKind.Transactions && !CustomerEventTypes.TransactionImportTypes.Contains(type))
            {
                return (null, "type", ImportMapping.TransactionTypeProblem);
            }

            var data = new EventData(
                Amount: amount, Currency: Get("currency"), ProductId: Get("productId"), ProductName: Get("productName"), Category: Get("category"),
                Quantity: quantity, CaseId: Get("caseId"), Subject: Get("subject"), Agent: Get("agent"), Outcome: Get("outcome"),
                Campaign: Get("campaign"), Url: Get("url"), Purpose: Get("purpose"), Granted: granted, Reference: Get("reference"), Note: Get("note"));
            var content = string.Join('\u001f', index.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + field(kv.Value)));
            var given = Get("eventId");
            if (CustomerEventRules.ReservedIdProblem(given) is { } reserved)
            {
                return (null, "eventId", reserved);
            }

            var id = given ?? Id(customerId!, kind == ImportKind.Events ? "e" : "t", content + "\u001f" + type);
            e = new CustomerEvent(id, type, when, Get("source") ?? "import", Get("channel"), data);
        }

        var errors = CustomerEventRules.Validate(e, DateTimeOffset.UtcNow);
        if (errors.Count > 0)
        {
            var (f, problems) = errors.First();
            return (null, f.StartsWith("data.", StringComparison.Ordinal) ? f[5..] : f, problems[0]);
        }

        return (new Row(customerId!, e), null, null);
    }

    private string Id(string customerId, string prefix, string content)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)))[..24];
        var key = customerId + "\u001f" + hash;
        var n = _occurrences[key] = _occurrences.GetValueOrDefault(key) + 1;
        return $"import:{prefix}:{hash}:{n}";
    }
}
