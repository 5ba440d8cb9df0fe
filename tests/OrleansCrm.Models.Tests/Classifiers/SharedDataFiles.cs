using OrleansCrm.Models.Classifiers;

namespace OrleansCrm.Models.Tests.Classifiers;

/// <summary>
/// Finds and reads the public data sets kept beside the repository in ../shared/data, so that the acceptance tests run
/// on the real files rather than on fixtures that could drift from them.
/// </summary>
internal static class SharedDataFiles
{
    /// <summary>Walks up from the test binaries to the folder holding OrleansCrm.sln, then to ../shared/data.</summary>
    public static string PathOf(string fileName)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OrleansCrm.sln")))
            {
                var path = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data", fileName));
                return File.Exists(path) ? path : throw new FileNotFoundException("Shared data file missing.", path);
            }
        }

        throw new DirectoryNotFoundException($"No OrleansCrm.sln above {AppContext.BaseDirectory}.");
    }

    /// <summary>
    /// Reads a plain comma-separated file (no quoting in these files) into one dictionary per line, header as keys.
    /// Values are kept raw, blanks included, because handling them is the trainer's job.
    /// </summary>
    public static List<Dictionary<string, string>> ReadCsv(string fileName)
    {
        var lines = File.ReadAllLines(PathOf(fileName));
        var header = lines[0].Split(',');
        var rows = new List<Dictionary<string, string>>(lines.Length - 1);
        foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
        {
            var cells = line.Split(',');
            Assert.Equal(header.Length, cells.Length);
            rows.Add(header.Zip(cells).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal));
        }

        return rows;
    }

    /// <summary>Removes the label column from the features and turns it into the boolean the trainer wants.</summary>
    public static List<TrainingRow> ToTrainingRows(IEnumerable<Dictionary<string, string>> rows, string labelColumn,
        string positiveValue) =>
        rows.Select(r =>
        {
            var label = r[labelColumn] == positiveValue;
            var features = new Dictionary<string, string>(r, StringComparer.Ordinal);
            features.Remove(labelColumn);
            return new TrainingRow(features, label);
        }).ToList();
}
