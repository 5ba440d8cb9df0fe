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
}
