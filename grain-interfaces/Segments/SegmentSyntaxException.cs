using System.Globalization;

namespace OrleansCrm.Segments;

/// <summary>
/// A segment definition that cannot be read. It carries the 0-based character <see cref="Position"/> and the 1-based
/// <see cref="Line"/>/<see cref="Column"/> so an editor can put the caret on the mistake, and a message such as
/// <c>at 23: expected a value after "in (" but found ")"</c> that says what was expected there.
/// </summary>
public sealed class SegmentSyntaxException : Exception
{
    /// <summary>Needed by the exception pattern; a parse error always comes from the parser with a position.</summary>
    public SegmentSyntaxException()
        : this("the segment definition is not valid")
    {
    }

    /// <summary>Needed by the exception pattern; a parse error always comes from the parser with a position.</summary>
    public SegmentSyntaxException(string message)
        : base(message)
    {
        Reason = message;
        Line = 1;
        Column = 1;
    }

    /// <summary>Needed by the exception pattern; a parse error always comes from the parser with a position.</summary>
    public SegmentSyntaxException(string message, Exception innerException)
        : base(message, innerException)
    {
        Reason = message;
        Line = 1;
        Column = 1;
    }

    internal SegmentSyntaxException(string text, int position, string reason)
        : base(string.Create(CultureInfo.InvariantCulture, $"at {position}: {reason}"))
    {
        Position = position;
        Reason = reason;
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < position && i < text.Length; i++)
        {
            if (text[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }

        Line = line;
        Column = position - lineStart + 1;
    }

    /// <summary>0-based index of the character where reading failed (the text's length when it ended too early).</summary>
    public int Position { get; }

    /// <summary>1-based line of <see cref="Position"/>; definitions typed in a text area may span lines.</summary>
    public int Line { get; }

    /// <summary>1-based column of <see cref="Position"/> within <see cref="Line"/>.</summary>
    public int Column { get; }

    /// <summary>The message without the <c>at N:</c> prefix, for display next to a caret.</summary>
    public string Reason { get; }
}
