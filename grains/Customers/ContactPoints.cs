using PhoneNumbers;

namespace OrleansCrm.Customers;

/// <summary>
/// Normal forms of contact points, so "Ada@Example.com " and "ada@example.com", or "(020) 7946 0000" and
/// "+44 20 7946 0000", find the same customer. Phone numbers are parsed with libphonenumber into E.164.
/// </summary>
public static class ContactPoints
{
    private static readonly PhoneNumberUtil Phones = PhoneNumberUtil.GetInstance();

    /// <summary>The region assumed for numbers written without a country code.</summary>
    public static string DefaultRegion { get; set; } = "US";

    public static string Email(string email) => email.Trim().ToLowerInvariant();

    public static string Phone(string phone)
    {
        var trimmed = phone.Trim();
        try
        {
            var parsed = Phones.Parse(trimmed, DefaultRegion);
            if (Phones.IsPossibleNumber(parsed))
            {
                return Phones.Format(parsed, PhoneNumberFormat.E164);
            }
        }
        catch (NumberParseException)
        {
            // Falls through to the digits, which still match the same digits typed again.
        }

        var digits = new string([.. trimmed.Where(char.IsAsciiDigit)]);
        return trimmed.StartsWith('+') ? "+" + digits : digits;
    }

    public static string ExternalId(string system, string id) => $"{system.Trim().ToLowerInvariant()}:{id.Trim()}";

    /// <summary>The lookup index key of a contact point: <c>email:…</c>, <c>phone:…</c> or <c>ext:system:id</c>.</summary>
    public static string IndexKey(string kind, string normalised) => $"{kind}:{normalised}";
}
