using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace OrleansCrm.Tests.Support;

/// <summary>The public data sets in ../shared/data, found from the repository root.</summary>
public static class SharedData
{
    public static string PathOf(string file)
    {
        var path = Path.GetFullPath(Path.Combine(Repo.Root, "..", "shared", "data", file));
        return File.Exists(path) ? path : throw new FileNotFoundException($"Shared data file {file} not found beside the repository", path);
    }

    /// <summary>The rows of a CSV file without quoting (both data sets used here have none), header first.</summary>
    public static IEnumerable<string[]> Rows(string file) =>
        File.ReadLines(PathOf(file)).Where(l => l.Length > 0).Select(l => l.TrimEnd('\r').Split(','));

    /// <summary>Uploads a shared data file to the import API (<c>/api/v1/imports/{query}</c>) as CSV; asserts 200.</summary>
    public static async Task<JsonElement> ImportFileAsync(this HttpClient http, Uri gateway, string query, string file)
    {
        await using var stream = File.OpenRead(PathOf(file));
        using var content = new StreamContent(stream);
        content.Headers.ContentType = new("text/csv");
        using var response = await http.PostAsync(new Uri(gateway, "/api/v1/imports/" + query), content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }
}
