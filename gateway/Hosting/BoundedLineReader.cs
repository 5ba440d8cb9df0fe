using System.Text;

namespace OrleansCrm.Gateway.Hosting;

/// <summary>
/// Reads lines of at most <c>maxChars</c> characters from a text stream that may be unbounded (an NDJSON import):
/// a longer line is skipped to its end without being held in memory and reported as too long, so one line cannot
/// grow the process however long it is.
/// </summary>
public sealed class BoundedLineReader(TextReader reader, int maxChars)
{
    private readonly char[] _buffer = new char[16 * 1024];
    private int _position;
    private int _length;
    private bool _ended;

    /// <summary>The next line (without its line break), or <c>TooLong</c> for a line over the limit, or null at the end.</summary>
    public async ValueTask<(string Text, bool TooLong)?> ReadLineAsync(CancellationToken cancellation = default)
    {
        var line = new StringBuilder();
        var tooLong = false;
        var any = false;
        while (true)
        {
            if (_position == _length)
            {
                if (!_ended)
                {
                    _length = await reader.ReadAsync(_buffer.AsMemory(), cancellation);
                    _position = 0;
                    _ended = _length == 0;
                }

                if (_ended)
                {
                    return any ? (tooLong ? "" : line.ToString(), tooLong) : null;
                }
            }

            any = true;
            var newline = Array.IndexOf(_buffer, '\n', _position, _length - _position);
            var end = newline < 0 ? _length : newline;
            if (!tooLong)
            {
                if (line.Length + (end - _position) > maxChars + 1)
                {
                    // Over the limit (one character of slack for a "\r" before the "\n"): from here on skipped.
                    tooLong = true;
                    line.Clear();
                }
                else
                {
                    line.Append(_buffer, _position, end - _position);
                }
            }

            _position = end;
            if (newline >= 0)
            {
                _position = newline + 1;
                if (!tooLong && line.Length > 0 && line[^1] == '\r')
                {
                    line.Length--;
                }

                if (!tooLong && line.Length > maxChars)
                {
                    tooLong = true;
                }

                return (tooLong ? "" : line.ToString(), tooLong);
            }
        }
    }
}
