using System.Globalization;
using System.Text;

namespace OrleansCrm.Segments;

/// <summary>What a token is; keywords are told apart by <see cref="SegmentToken.Value"/>.</summary>
internal enum SegmentTokenKind
{
    End,
    Identifier,
    Keyword,
    Number,
    String,
    Operator,
    LeftParen,
    RightParen,
    Comma,
}

/// <summary>
/// One token: <see cref="Text"/> is the source slice (for messages), <see cref="Value"/> the lower-cased keyword,
/// the operator, the identifier or the unescaped string, and <see cref="Number"/> a number literal's value.
/// </summary>
internal readonly record struct SegmentToken(SegmentTokenKind Kind, int Position, string Text, string Value, double Number);

/// <summary>
/// Splits a definition into tokens on demand, so the first mistake in reading order is the one reported, whether it
/// is a bad character or a misplaced word.
/// </summary>
internal sealed class SegmentLexer(string text)
{
    private static readonly string[] Keywords = ["and", "or", "not", "in", "contains", "exists", "missing", "true", "false"];

    private int offset;

    /// <summary>Reads the next token, or throws <see cref="SegmentSyntaxException"/> at the offending character.</summary>
    public SegmentToken Next()
    {
        while (offset < text.Length && char.IsWhiteSpace(text[offset]))
        {
            offset++;
        }

        var start = offset;
        if (offset >= text.Length)
        {
            return new SegmentToken(SegmentTokenKind.End, start, "", "", 0);
        }

        var c = text[offset];
        switch (c)
        {
            case '(':
                return Single(SegmentTokenKind.LeftParen);
            case ')':
                return Single(SegmentTokenKind.RightParen);
            case ',':
                return Single(SegmentTokenKind.Comma);
            case '"':
                return ReadString();
            case '\'':
                throw Error(start, "strings are written in double quotes, not single quotes");
            case '=':
                if (At(offset + 1) == '=')
                {
                    throw Error(start, "\"==\" is not an operator; equality is written \"=\"");
                }

                return Operator(1);
            case '!':
                return At(offset + 1) == '=' ? Operator(2) : throw Error(start, "\"!\" is not an operator; use \"!=\" or \"not\"");
            case '<' or '>':
                return Operator(At(offset + 1) == '=' ? 2 : 1);
            default:
                break;
        }

        if (char.IsAsciiDigit(c) || (c == '-' && char.IsAsciiDigit(At(offset + 1))))
        {
            return ReadNumber();
        }

        if (char.IsLetter(c) || c == '_')
        {
            while (offset < text.Length && (char.IsLetterOrDigit(text[offset]) || text[offset] is '_' or '.'))
            {
                offset++;
            }

            var word = text[start..offset];
            var lower = word.ToLowerInvariant();
            return Keywords.Contains(lower, StringComparer.Ordinal)
                ? new SegmentToken(SegmentTokenKind.Keyword, start, word, lower, 0)
                : new SegmentToken(SegmentTokenKind.Identifier, start, word, word, 0);
        }

        throw Error(start, $"unexpected character \"{c}\"");
    }

    private char At(int index) => index < text.Length ? text[index] : '\0';

    private SegmentToken Single(SegmentTokenKind kind)
    {
        offset++;
        return new SegmentToken(kind, offset - 1, text[(offset - 1)..offset], text[(offset - 1)..offset], 0);
    }

    private SegmentToken Operator(int length)
    {
        var op = text.Substring(offset, length);
        offset += length;
        return new SegmentToken(SegmentTokenKind.Operator, offset - length, op, op, 0);
    }

    /// <summary>An optional minus, digits, an optional fraction and an optional exponent, read invariantly.</summary>
    private SegmentToken ReadNumber()
    {
        var start = offset;
        if (text[offset] == '-')
        {
            offset++;
        }

        SkipDigits();
        if (At(offset) == '.')
        {
            offset++;
            if (!char.IsAsciiDigit(At(offset)))
            {
                throw Error(offset, "expected a digit after the decimal point");
            }

            SkipDigits();
        }

        if (At(offset) is 'e' or 'E' && (char.IsAsciiDigit(At(offset + 1)) || (At(offset + 1) is '+' or '-' && char.IsAsciiDigit(At(offset + 2)))))
        {
            offset += 2;
            SkipDigits();
        }

        var slice = text[start..offset];
        var value = double.Parse(slice, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture);
        return new SegmentToken(SegmentTokenKind.Number, start, slice, slice, value);
    }

    private void SkipDigits()
    {
        while (char.IsAsciiDigit(At(offset)))
        {
            offset++;
        }
    }

    /// <summary>A double-quoted string; <c>\"</c> and <c>\\</c> are the only escapes, so a stray backslash is caught early.</summary>
    private SegmentToken ReadString()
    {
        var start = offset++;
        var value = new StringBuilder();
        while (offset < text.Length)
        {
            var c = text[offset];
            if (c == '"')
            {
                offset++;
                return new SegmentToken(SegmentTokenKind.String, start, text[start..offset], value.ToString(), 0);
            }

            if (c == '\\')
            {
                var escaped = At(offset + 1);
                if (escaped is not ('"' or '\\'))
                {
                    throw Error(offset, "only \\\" and \\\\ may follow a backslash in a string");
                }

                value.Append(escaped);
                offset += 2;
                continue;
            }

            value.Append(c);
            offset++;
        }

        throw Error(start, "the string starting here is not closed with \"");
    }

    private SegmentSyntaxException Error(int position, string reason) => new(text, position, reason);
}
