using OrleansCrm.Customers;
using OrleansCrm.Decisions;

namespace OrleansCrm.Tests.Customers;

/// <summary>The docs' lists of event types and scores say what the registries declare: a reader of docs/api.md or
/// docs/models.md sees every type and score the CRM knows, with the same meaning, and none it does not.</summary>
public sealed class RegistryDocsTests
{
    [Fact]
    public void The_api_docs_list_every_event_type_callers_may_record_as_declared()
    {
        var expected = CustomerEventTypes.Registered.Where(t => t.AcceptedFromCallers).Select(t =>
            $"| `{t.Name}` | {(t.Requires.Count == 0 ? "—" : string.Join(", ", t.Requires.Select(f => $"`{f.Path}`")))} | {(t.TransactionImport ? "yes" : "—")} | {t.Description} |").ToList();

        var documented = TableRows("api.md", "## Event types");

        Assert.True(expected.SequenceEqual(documented), "docs/api.md's event types table should read:\n" + string.Join("\n", expected));
    }

    [Fact]
    public void The_model_docs_list_every_score_as_declared()
    {
        var expected = CustomerScores.All.Append(CustomerScores.ResponsePropensityByOffer).Select(s => $"| `{s.Name}` | {s.Description} |").ToList();

        var documented = TableRows("models.md", "## Scores in the customer view");

        Assert.Equal(expected.Count, documented.Count);
        Assert.All(expected, row => Assert.Single(documented, d => d.StartsWith(row, StringComparison.Ordinal)));
    }

    /// <summary>The rows naming something (first cell in backticks) of the first table under <paramref name="heading"/>.</summary>
    private static List<string> TableRows(string doc, string heading)
    {
        var text = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", doc)).ReplaceLineEndings("\n");
        var start = text.IndexOf(heading + "\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"docs/{doc} has no \"{heading}\" section");
        var section = text[(start + heading.Length)..];
        var next = section.IndexOf("\n## ", StringComparison.Ordinal);
        return [.. (next < 0 ? section : section[..next]).Split('\n').Where(l => l.StartsWith("| `", StringComparison.Ordinal))];
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OrleansCrm.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No OrleansCrm.sln above {AppContext.BaseDirectory}.");
    }
}
