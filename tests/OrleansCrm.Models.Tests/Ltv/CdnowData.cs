using System.Globalization;
using OrleansCrm.Models.Ltv;

namespace OrleansCrm.Models.Tests.Ltv;

/// <summary>
/// Loads the CDNOW cohort summaries from ../shared/data. Columns are looked up by header name rather than position so
/// that the test fails with a clear message, not a silent misfit, if a file's layout ever changes.
/// </summary>
internal static class CdnowData
{
    public static IReadOnlyList<RfmObservation> Summary() =>
        Read("cdnow_customers_summary.csv", "frequency", "recency", "T", spendColumn: null);

    public static IReadOnlyList<RfmObservation> SummaryWithMonetary() =>
        Read("cdnow_customers_summary_with_monetary.csv", "x", "t_x", "T", spendColumn: "zbar");

    private static List<RfmObservation> Read(
        string fileName, string frequencyColumn, string recencyColumn, string ageColumn, string? spendColumn)
    {
        var lines = File.ReadAllLines(Path.Combine(DataDirectory(), fileName));
        var header = lines[0].Split(',').Select(h => h.Trim()).ToList();
        int Column(string name)
        {
            int index = header.IndexOf(name);
            return index >= 0 ? index : throw new InvalidDataException($"{fileName} has no column '{name}'.");
        }

        int frequency = Column(frequencyColumn), recency = Column(recencyColumn), age = Column(ageColumn);
        int spend = spendColumn is null ? -1 : Column(spendColumn);
        double Parse(string[] fields, int index) => double.Parse(fields[index], NumberStyles.Float, CultureInfo.InvariantCulture);

        return lines
            .Skip(1)
            .Where(line => !string.IsNullOrWhiteSpace(line))
            .Select(line => line.Split(','))
            .Select(f => new RfmObservation(Parse(f, frequency), Parse(f, recency), Parse(f, age), spend < 0 ? 0.0 : Parse(f, spend)))
            .ToList();
    }

    private static string DataDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OrleansCrm.sln")))
            {
                return Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data"));
            }
        }

        throw new InvalidOperationException("OrleansCrm.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>Fits both models once per test class: the fits are the slow part and every test reads the same cohort.</summary>
public sealed class CdnowFits
{
    public CdnowFits()
    {
        Summary = CdnowData.Summary();
        Monetary = CdnowData.SummaryWithMonetary();

        var clock = System.Diagnostics.Stopwatch.StartNew();
        BgNbd = BgNbdModel.Fit(Summary);
        BgNbdFitTime = clock.Elapsed;

        clock.Restart();
        GammaGamma = GammaGammaModel.Fit(Monetary);
        GammaGammaFitTime = clock.Elapsed;
    }

    public IReadOnlyList<RfmObservation> Summary { get; }

    public IReadOnlyList<RfmObservation> Monetary { get; }

    public BgNbdParameters BgNbd { get; }

    public GammaGammaParameters GammaGamma { get; }

    public TimeSpan BgNbdFitTime { get; }

    public TimeSpan GammaGammaFitTime { get; }
}

/// <summary>Shares one <see cref="CdnowFits"/> across all LTV test classes.</summary>
[CollectionDefinition(Name)]
public sealed class CdnowCollection : ICollectionFixture<CdnowFits>
{
    public const string Name = "CDNOW LTV fits";
}
