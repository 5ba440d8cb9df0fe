namespace OrleansCrm.Gateway.Hosting;

/// <summary>Cells and names of the CSV files the CRM writes, safe to open in a spreadsheet.</summary>
public static class CsvCells
{
    /// <summary>A value that a spreadsheet would take as a formula (it starts with <c>=</c>, <c>+</c>, <c>-</c>, <c>@</c>,
    /// a tab or a carriage return) gets a leading apostrophe, so it is shown as the text it is.</summary>
    public static string? Safe(string? value) =>
        value is { Length: > 0 } && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r' ? "'" + value : value;

    /// <summary>A name safe inside a <c>Content-Disposition</c> file name: letters, digits, '-', '_' and '.' only.</summary>
    public static string FileNamePart(string name)
    {
        var safe = new string([.. name.Take(100).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_')]);
        return safe.Length == 0 ? "export" : safe;
    }
}
