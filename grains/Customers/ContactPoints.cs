using System.Globalization;
using System.Text;
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

    /// <summary>
    /// A person's name as the lookup compares it: lower-case, accents folded ("Zoë" → "zoe", "Ørsted" → "orsted"),
    /// whitespace collapsed to single spaces, trimmed. Empty when nothing is left. The folding is a table of the Latin
    /// letters (the processes run with invariant globalization, where Unicode normalisation is not available).
    /// </summary>
    public static string Name(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return "";
        }

        var folded = new StringBuilder(name.Length);
        var space = false;
        var afterCjk = false;
        foreach (var c in name)
        {
            if (CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark)
            {
                continue;
            }

            if (char.IsWhiteSpace(c))
            {
                space = folded.Length > 0;
                continue;
            }

            // Chinese, Japanese and Korean names are written without spaces: a space between two of their characters
            // is left out, so "张 伟" and "张伟" are one name.
            var cjk = IsCjk(c);
            if (space && !(afterCjk && cjk))
            {
                folded.Append(' ');
            }

            space = false;
            afterCjk = cjk;

            var lower = char.ToLowerInvariant(c);
            var at = Accented.IndexOf(lower, StringComparison.Ordinal);
            if (at >= 0)
            {
                folded.Append(Plain[at]);
                continue;
            }

            // Letters that are not a base letter with a mark.
            folded.Append(lower switch
            {
                'ß' => "ss",
                'æ' => "ae",
                'œ' => "oe",
                'ø' => "o",
                'ł' => "l",
                'đ' => "d",
                'ð' => "d",
                'þ' => "th",
                'ı' => "i",
                'ŀ' => "l",
                'ĳ' => "ij",
                _ => lower.ToString(),
            });
        }

        return folded.ToString();
    }

    // Lower-case Latin letters with diacritics (U+00E0 to U+024F that decompose to one ASCII letter) and that letter.
    private const string Accented = "àáâãäåçèéêëìíîïñòóôõöùúûüýÿāăąćĉċčďēĕėęěĝğġģĥĩīĭįĵķĺļľńņňōŏőŕŗřśŝşšţťũūŭůűųŵŷźżžơưǎǐǒǔǖǘǚǜǟǡǧǩǫǭǰǵǹǻȁȃȅȇȉȋȍȏȑȓȕȗșțȟȧȩȫȭȯȱȳ";
    private const string Plain = "aaaaaaceeeeiiiinooooouuuuyyaaaccccdeeeeegggghiiiijklllnnnooorrrssssttuuuuuuwyzzzouaiouuuuuaagkoojgnaaaeeiioorruusthaeooooy";

    /// <summary>Han, kana and Hangul characters: scripts whose names are written family name first, without spaces.</summary>
    public static bool IsCjk(char c) =>
        c is (>= '\u3400' and <= '\u4DBF') or (>= '\u4E00' and <= '\u9FFF') or (>= '\uF900' and <= '\uFAFF')
            or (>= '\u3040' and <= '\u30FF') or (>= '\uAC00' and <= '\uD7AF');

    /// <summary>The name index keys a customer claims: its full name (<c>first last</c>) and its last name, each
    /// normalised by <see cref="Name"/>, and for a name in a script written family name first (<c>张伟</c>) that order
    /// too; none when both are empty.</summary>
    public static IReadOnlyList<string> NameKeys(string? firstName, string? lastName)
    {
        var full = Name($"{firstName} {lastName}");
        var last = Name(lastName);
        var keys = new List<string>(3);
        if (full.Length > 0)
        {
            keys.Add(IndexKey(NameKind, full));
        }

        if (full.Any(IsCjk) && Name($"{lastName} {firstName}") is { Length: > 0 } familyFirst && familyFirst != full)
        {
            keys.Add(IndexKey(NameKind, familyFirst));
        }

        if (last.Length > 0 && last != full)
        {
            keys.Add(IndexKey(NameKind, last));
        }

        return keys;
    }

    /// <summary>The lookup kind of names; its claims move with the name rather than accumulate like e-mails.</summary>
    public const string NameKind = "name";

    /// <summary>Whether an index key is a name's (many holders are normal there: never a conflict).</summary>
    public static bool IsNameKey(string key) => key.StartsWith(NameKind + ":", StringComparison.Ordinal);

    /// <summary>Every index key a customer's state holds: its e-mails, phones, external ids and name keys.</summary>
    public static IEnumerable<string> Keys(CustomerState s) =>
        Keys(s.Emails.Keys, s.Phones.Keys, s.ExternalIds).Concat(NameKeys(s.FirstName, s.LastName)).Distinct(StringComparer.Ordinal);

    /// <summary>The index keys of normalised e-mails, phones and external ids (system → id).</summary>
    public static IEnumerable<string> Keys(IEnumerable<string> emails, IEnumerable<string> phones, IReadOnlyDictionary<string, string> externalIds) =>
        emails.Select(e => IndexKey("email", e))
            .Concat(phones.Select(p => IndexKey("phone", p)))
            .Concat(externalIds.Select(kv => IndexKey("ext", ExternalId(kv.Key, kv.Value))));

    /// <summary>The lookup index key of a contact point: <c>email:…</c>, <c>phone:…</c>, <c>ext:system:id</c> or <c>name:…</c>.</summary>
    public static string IndexKey(string kind, string normalised) => $"{kind}:{normalised}";
}
