using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using OrleansCrm.Catalog;
using OrleansCrm.Customers;
using OrleansCrm.Models.Classifiers;
using OrleansCrm.Models.Ltv;

namespace OrleansCrm.Decisions;

/// <summary>
/// Trains models from what the cluster holds (the event log, filled through the product's own import and event
/// paths) and installs each result as the next version of the <c>models</c> catalog document, which every silo
/// loads within seconds. One activation for the cluster; training runs off the grain's turn.
/// </summary>
[GrainType("model-training")]
public sealed class ModelTrainingGrain(ICustomerLog log, TimeProvider clock, ILogger<ModelTrainingGrain> logger) : Grain, IModelTrainingGrain
{
    public async Task<TrainingReport> TrainAsync(TrainRequest request)
    {
        var rows = await log.ReadTrainingRowsAsync();
        var catalog = GrainFactory.GetGrain<ICatalogGrain>(CatalogKinds.Models);
        var current = await catalog.GetAsync();
        var models = current.Version == 0 ? ModelSet.Empty : JsonSerializer.Deserialize<ModelSet>(current.Json, DecisionJson.Options) ?? ModelSet.Empty;
        var version = (int)current.Version + 1;

        TrainingReport report;
        switch (request.Model)
        {
            case "churn" or "response":
                if (string.IsNullOrWhiteSpace(request.Label) || string.IsNullOrWhiteSpace(request.Positive))
                {
                    throw new CustomerRuleException("label", "label and positive are required for churn and response models");
                }

                var training = rows.Where(r => r.Attributes.ContainsKey(request.Label))
                    .Select(r => new TrainingRow(r.Attributes.Where(kv => kv.Key != request.Label).ToDictionary(), string.Equals(r.Attributes[request.Label].Trim(), request.Positive, StringComparison.OrdinalIgnoreCase)))
                    .ToList();
                if (training.Count < 50 || training.All(t => t.Label) || training.All(t => !t.Label))
                {
                    throw new CustomerRuleException("label", $"{training.Count} customers carry attribute '{request.Label}'; training needs at least 50 with both outcomes");
                }

                var options = new TrainerOptions { Seed = request.Seed, Version = version, ExcludedFeatures = request.Exclude ?? [], Clock = clock };
                var result = await Task.Run(() => ScorecardTrainer.Train(request.Model, training, options));
                models = request.Model == "churn" ? models with { Churn = result.Scorecard } : models with { Response = result.Scorecard };
                report = new TrainingReport(request.Model, 0, training.Count, result.HoldoutAuc, [],
                    $"logistic scorecard on {result.Scorecard.Numeric.Length} numeric and {result.Scorecard.Categorical.Length} categorical features; held-out {result.TestRows} rows");
                break;
            case "ltv":
                var buyers = rows.Where(r => r.Purchases > 0).ToList();
                if (buyers.Count < 50)
                {
                    throw new CustomerRuleException("model", $"{buyers.Count} customers have purchases; lifetime-value models need at least 50");
                }

                // The observation ends with the newest purchase the cluster knows of, so a history loaded from the
                // past is fitted as of its own end, not as of today.
                var end = buyers.Max(r => r.LastPurchase!.Value);
                var observations = buyers.Select(r => new RfmObservation(
                    r.Purchases - 1,
                    (r.LastPurchase!.Value - r.FirstPurchase!.Value).TotalDays / 7,
                    (end - r.FirstPurchase!.Value).TotalDays / 7,
                    (double)(r.PurchaseTotal / r.Purchases))).ToList();
                var (bg, gg) = await Task.Run(() => (BgNbdModel.Fit(observations), GammaGammaModel.Fit(observations)));
                models = models with { Ltv = new LtvParameters(bg.R, bg.Alpha, bg.A, bg.B, gg.P, gg.Q, gg.V, version, clock.GetUtcNow(), end) };
                report = new TrainingReport("ltv", 0, observations.Count, null,
                    new() { ["r"] = bg.R, ["alpha"] = bg.Alpha, ["a"] = bg.A, ["b"] = bg.B, ["p"] = gg.P, ["q"] = gg.Q, ["v"] = gg.V },
                    $"BG/NBD and Gamma-Gamma over {observations.Count} buyers, observed until {end.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}");
                break;
            default:
                throw new CustomerRuleException("model", "must be churn, response or ltv");
        }

        var stored = await catalog.PutAsync(JsonSerializer.Serialize(models, DecisionJson.Options), current.Version);
        logger.LogInformation("Model {Model} trained on {Rows} rows, installed as model set version {Version}", request.Model, report.Rows, stored.Version);
        return report with { ModelSetVersion = stored.Version };
    }
}
