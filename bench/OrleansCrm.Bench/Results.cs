using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansCrm.Bench;

/// <summary>Where results go (bench/results/ of the checkout the bench runs from) and how JSON is written.</summary>
public static class Results
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new RoundedDouble() },
    };

    public static string Folder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "bench", "results");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        return Directory.GetCurrentDirectory();
    }

    /// <summary>Writes <c>name.md</c> and, when given, <c>name.json</c>; answers the Markdown file's path.</summary>
    public static async Task<string> WriteAsync(string name, string markdown, object? figures = null)
    {
        var md = Path.Combine(Folder(), name + ".md");
        await File.WriteAllTextAsync(md, markdown);
        if (figures is not null)
        {
            await File.WriteAllTextAsync(Path.ChangeExtension(md, ".json"), JsonSerializer.Serialize(figures, figures.GetType(), Json) + "\n");
        }

        Console.Error.WriteLine($"Written to {md}{(figures is null ? "" : " (and .json)")}");
        return md;
    }

    public static string Stamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyyMMdd-HHmm", CultureInfo.InvariantCulture);

    /// <summary>Doubles to at most four decimals (figures, not noise); infinities and NaN as named literals.</summary>
    private sealed class RoundedDouble : JsonConverter<double>
    {
        public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.String
                ? double.Parse(reader.GetString()!, CultureInfo.InvariantCulture)
                : reader.GetDouble();

        public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
        {
            if (double.IsFinite(value))
            {
                writer.WriteNumberValue(Math.Round(value, 4));
            }
            else
            {
                writer.WriteStringValue(value.ToString(CultureInfo.InvariantCulture));
            }
        }
    }
}
