using System.Diagnostics;
using System.Globalization;
using OrleansCrm.Models.Classifiers;
using Xunit.Abstractions;

namespace OrleansCrm.Models.Tests.Classifiers;

/// <summary>
/// The trainer must produce scorecards that are as good as the published scikit-learn references on real CRM-like data,
/// and whose portable evaluation agrees with the ML.NET model they came from.
/// </summary>
public sealed class ScorecardTrainerTests(ITestOutputHelper output)
{
    [Fact]
    public void Churn_scorecard_on_the_telco_file_reaches_the_reference_auc()
    {
        var rows = SharedDataFiles.ToTrainingRows(SharedDataFiles.ReadCsv("telco_customer_churn.csv"), "Churn", "Yes");
        Assert.Equal(7043, rows.Count);
        Assert.Equal(1869, rows.Count(r => r.Label));

        var result = TrainAndReport("churn", rows, new TrainerOptions());

        Assert.True(result.HoldoutAuc >= 0.83, $"Telco churn holdout AUC {result.HoldoutAuc:F4} is below 0.83.");
        Assert.Equal(1409, result.TestRows); // 20 % of each class: 374 churned + 1035 stayed.
        Assert.Equal(rows.Count - 1409, result.TrainRows);
        Assert.Contains(result.Dropped, d => d.Name == "customerID");
        Assert.Contains(result.Scorecard.Numeric, f => f.Name == "TotalCharges"); // blank on 11 rows, still numeric
        Assert.Contains(result.Scorecard.Categorical, f => f.Name == "Contract");
        AssertExportMatchesMlNet(result);
    }

    [Fact]
    public void Response_scorecard_on_the_ifood_file_reaches_the_reference_auc()
    {
        var raw = SharedDataFiles.ReadCsv("ifood_marketing_campaign.csv");
        var dates = raw.Select(r => DateOnly.ParseExact(r["Dt_Customer"], "yyyy-MM-dd", CultureInfo.InvariantCulture)).ToArray();
        var latest = dates.Max();
        for (var i = 0; i < raw.Count; i++)
        {
            // Enrolment date as tenure: a numeric the model can use, relative to the file so it needs no clock.
            raw[i].Remove("Dt_Customer");
            raw[i]["DaysSinceEnrolment"] = (latest.DayNumber - dates[i].DayNumber).ToString(CultureInfo.InvariantCulture);
        }

        var rows = SharedDataFiles.ToTrainingRows(raw, "Response", "1");
        Assert.Equal(2240, rows.Count);
        Assert.Equal(334, rows.Count(r => r.Label));
        Assert.Equal(24, rows.Count(r => r.Features["Income"].Length == 0));

        // ID is numeric, so only its name says it is an identifier.
        var result = TrainAndReport("campaign-response", rows, new TrainerOptions { ExcludedFeatures = ["ID"] });

        Assert.True(result.HoldoutAuc >= 0.87, $"iFood response holdout AUC {result.HoldoutAuc:F4} is below 0.87.");
        Assert.Contains(result.Dropped, d => d.Name == "Z_CostContact" && d.Reason == "constant");
        Assert.Contains(result.Dropped, d => d.Name == "Z_Revenue" && d.Reason == "constant");
        Assert.DoesNotContain(result.Scorecard.Numeric, f => f.Name == "ID");
        Assert.Contains(result.Scorecard.Numeric, f => f.Name == "Income");
        Assert.Contains(result.Scorecard.Numeric, f => f.Name == "Year_Birth");
        Assert.Contains(result.Scorecard.Categorical, f => f.Name == "Marital_Status");
        AssertExportMatchesMlNet(result);
    }

    [Fact]
    public void Feature_that_decides_the_label_is_the_top_reason_and_scorecard_matches_mlnet()
    {
        var rows = Synthetic(400, seed: 7);
        var options = new TrainerOptions { FeatureLabels = new Dictionary<string, string> { ["signal"] = "Signal strength" } };

        var result = ScorecardTrainer.Train("synthetic", rows, options);

        Assert.True(result.HoldoutAuc > 0.99, $"AUC {result.HoldoutAuc:F4}");
        var probe = new Dictionary<string, string> { ["signal"] = "1.5", ["noise"] = "0.3", ["colour"] = "red" };
        var score = result.Scorecard.Score(probe);
        Assert.StartsWith("Signal strength = 1.5", score.Reasons[0].Factor, StringComparison.Ordinal);
        Assert.Equal("raises", score.Reasons[0].Direction);
        Assert.True(score.Probability > 0.9, $"p = {score.Probability:F4}");
        var signal = Assert.Single(result.Scorecard.Numeric, f => f.Name == "signal");
        Assert.All(result.Scorecard.Numeric.Where(f => f != signal), f => Assert.True(Math.Abs(f.Weight) < Math.Abs(signal.Weight) / 5));
        Assert.All(result.Scorecard.Categorical.SelectMany(f => f.Weights.Values),
            w => Assert.True(Math.Abs(w) < Math.Abs(signal.Weight) / 5));
        Assert.Equal(80, result.Holdout.Count);
        Assert.All(result.Holdout, h => Assert.Equal(h.MlNetProbability, h.ScorecardProbability, 1e-4));
    }

    [Fact]
    public void Blank_numeric_values_are_imputed_with_the_mean_and_contribute_nothing()
    {
        var rows = Synthetic(300, seed: 11);
        for (var i = 0; i < rows.Count; i += 10)
        {
            var features = new Dictionary<string, string>(rows[i].Features) { ["noise"] = " " };
            rows[i] = rows[i] with { Features = features };
        }

        var result = ScorecardTrainer.Train("synthetic", rows, new TrainerOptions());

        var noise = Assert.Single(result.Scorecard.Numeric, f => f.Name == "noise");
        var blank = new Dictionary<string, string> { ["signal"] = "0.2", ["noise"] = "", ["colour"] = "blue" };
        var atMean = new Dictionary<string, string>(blank) { ["noise"] = noise.Mean.ToString("R", CultureInfo.InvariantCulture) };
        Assert.Equal(result.Scorecard.Score(atMean).Probability, result.Scorecard.Score(blank).Probability, 12);
        Assert.All(result.Holdout, h => Assert.Equal(h.MlNetProbability, h.ScorecardProbability, 1e-4));
    }

    [Fact]
    public void Retraining_with_the_same_seed_gives_the_same_scorecard()
    {
        var rows = Synthetic(300, seed: 3);
        var clock = new FixedClock(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));

        var first = ScorecardTrainer.Train("s", rows, new TrainerOptions { Clock = clock });
        var second = ScorecardTrainer.Train("s", rows, new TrainerOptions { Clock = clock });

        Assert.Equal(first.HoldoutAuc, second.HoldoutAuc);
        Assert.Equal(first.Scorecard.Intercept, second.Scorecard.Intercept);
        Assert.Equal(first.Scorecard.Numeric, second.Scorecard.Numeric);
        Assert.Equal(clock.Now, first.Scorecard.TrainedAt);
    }

    /// <summary>Label = signal &gt; 0 exactly; "noise" and "colour" are independent of it.</summary>
    private static List<TrainingRow> Synthetic(int count, int seed)
    {
        var random = new Random(seed);
        var colours = new[] { "red", "green", "blue" };
        return Enumerable.Range(0, count).Select(_ =>
        {
            var signal = random.NextDouble() * 4 - 2;
            var features = new Dictionary<string, string>
            {
                ["signal"] = signal.ToString("R", CultureInfo.InvariantCulture),
                ["noise"] = (random.NextDouble() * 10).ToString("R", CultureInfo.InvariantCulture),
                ["colour"] = colours[random.Next(colours.Length)],
            };
            return new TrainingRow(features, signal > 0);
        }).ToList();
    }

    private TrainingResult TrainAndReport(string name, List<TrainingRow> rows, TrainerOptions options)
    {
        var watch = Stopwatch.StartNew();
        var result = ScorecardTrainer.Train(name, rows, options);
        output.WriteLine($"{name}: holdout AUC {result.HoldoutAuc:F4} (ML.NET {result.MlNetHoldoutAuc:F4}), "
            + $"{result.TrainRows} train / {result.TestRows} test rows, {watch.ElapsedMilliseconds} ms; "
            + $"dropped: {string.Join(", ", result.Dropped.Select(d => d.Name))}");
        return result;
    }

    /// <summary>The held-out AUC is the scorecard's; it must agree with ML.NET's on the same rows, row by row.</summary>
    private static void AssertExportMatchesMlNet(TrainingResult result)
    {
        Assert.Equal(result.MlNetHoldoutAuc, result.HoldoutAuc, 1e-3);
        Assert.Equal(result.TestRows, result.Holdout.Count);
        Assert.All(result.Holdout, h => Assert.Equal(h.MlNetProbability, h.ScorecardProbability, 1e-4));
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
