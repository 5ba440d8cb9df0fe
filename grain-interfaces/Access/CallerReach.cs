using Orleans.Runtime;

namespace OrleansCrm.Access;

/// <summary>
/// The organisation unit of the person or key a request serves, carried with every grain call the request leads to
/// (Orleans' request context, as the correlation id is), so the customer grain itself applies the unit rule on every
/// path that reaches it: single events, profile changes, merges, prospects, exports. Absent for a caller of the
/// whole organisation and for work no request started (a campaign's walk, a backfill): those reach every customer.
/// </summary>
public static class CallerReach
{
    private const string ContextKey = "crm.reach";

    /// <summary>The caller's unit when it is below the root, else null (every customer is in reach).</summary>
    public static string? Current => RequestContext.Get(ContextKey) is string { Length: > 0 } unit ? unit : null;

    /// <summary>Makes the caller's <paramref name="unit"/> travel with the grain calls made from here on in this flow;
    /// the root ("") travels as nothing.</summary>
    public static void Set(string? unit)
    {
        var normal = OrgUnits.Normalise(unit);
        if (normal.Length > 0)
        {
            RequestContext.Set(ContextKey, normal);
        }
        else
        {
            RequestContext.Remove(ContextKey);
        }
    }

    /// <summary>Whether the current caller reaches a customer, segment or campaign of <paramref name="unit"/>.</summary>
    public static bool Reaches(string? unit) => Current is not { } reach || OrgUnits.Contains(reach, unit);
}

/// <summary>A change the caller may not make because it would place a customer (or another resource) outside the
/// caller's organisation unit; answered 403 naming <see cref="Field"/>. Nothing of the call was stored.</summary>
[GenerateSerializer, Alias("crm.OutsideUnitException")]
public sealed class OutsideUnitException : Exception
{
    public OutsideUnitException()
    {
    }

    public OutsideUnitException(string field, string message)
        : base(message) => Field = field;

    public OutsideUnitException(string message, Exception inner)
        : base(message, inner)
    {
    }

    [Id(0)] public string Field { get; init; } = "";
}
