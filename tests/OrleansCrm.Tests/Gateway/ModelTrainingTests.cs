using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Gateway;

/// <summary>A CRM process of its own for training, so the import tests see a database with nothing imported yet.</summary>
[CollectionDefinition(Name)]
public sealed class TrainingCrmCollection : ICollectionFixture<ImportCrmFixture>
{
    public const string Name = "Training CRM process";
}

/// <summary>Models trained from data imported through the product's own import path, installed on the silos.</summary>
[Collection(TrainingCrmCollection.Name)]
public sealed class ModelTrainingTests(ImportCrmFixture crm)
{
    private Uri Url(string path) => new(crm.Gateway, path);

    private Task<JsonElement> ImportAsync(string query, string file) => crm.Http.ImportFileAsync(crm.Gateway, query, file);

    private async Task<JsonElement> TrainAsync(object request)
    {
        using var response = await crm.Http.PostAsJsonAsync(Url("/api/v1/models/train"), request);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
        return body;
    }

    [Fact]
    public async Task Churn_trained_on_the_imported_telco_customers_reaches_the_reference_auc_and_scores_the_view()
    {
        await ImportAsync("customers?mapping=customerId=customerID&attributes=*", "telco_customer_churn.csv");

        var report = await TrainAsync(new { model = "churn", label = "Churn", positive = "Yes", seed = 42 });

        Assert.True(report.GetProperty("holdoutAuc").GetDouble() >= 0.83, report.ToString());
        Assert.Equal(7043, report.GetProperty("rows").GetInt32());
        var version = report.GetProperty("modelSetVersion").GetInt64();
        var view = await Poll.UntilAsync(
            async () =>
            {
                var v = await crm.Http.GetFromJsonAsync<JsonElement>(Url("/api/v1/customers/7590-VHVEG"));
                return v.GetProperty("scores").GetProperty("churnRisk").GetProperty("label").GetString() == $"model v{version}" ? v : (JsonElement?)null;
            },
            TimeSpan.FromSeconds(20),
            "the trained churn model on the silo");
        var churn = view!.Value.GetProperty("scores").GetProperty("churnRisk");
        Assert.InRange(churn.GetProperty("value").GetDouble(), 0, 1);
        Assert.NotEmpty(churn.GetProperty("reasons").EnumerateArray());
    }

    [Fact]
    public async Task Response_propensity_trained_on_the_imported_ifood_customers_reaches_the_reference_auc()
    {
        await ImportAsync("customers?mapping=customerId=ID&attributes=*", "ifood_marketing_campaign.csv");

        var report = await TrainAsync(new { model = "response", label = "Response", positive = "1", seed = 42 });

        Assert.True(report.GetProperty("holdoutAuc").GetDouble() >= 0.87, report.ToString());
        Assert.Equal(2240, report.GetProperty("rows").GetInt32());
    }

    [Fact]
    public async Task Lifetime_value_fitted_on_the_imported_cdnow_log_appears_in_each_view()
    {
        await ImportAsync("transactions?mapping=customerId=customer_id,occurredAt=date,quantity=number_of_cds,amount=dollar_value&createCustomers=true", "cdnow_master.csv");

        var report = await TrainAsync(new { model = "ltv" });

        Assert.Equal(23570, report.GetProperty("rows").GetInt32());
        foreach (var name in new[] { "r", "alpha", "a", "b", "p", "q", "v" })
        {
            Assert.True(report.GetProperty("parameters").GetProperty(name).GetDouble() > 0, name);
        }

        var view = await Poll.UntilAsync(
            async () =>
            {
                var v = await crm.Http.GetFromJsonAsync<JsonElement>(Url("/api/v1/customers/00004"));
                return v.GetProperty("scores").TryGetProperty("predictedValue52w", out _) ? v : (JsonElement?)null;
            },
            TimeSpan.FromSeconds(20),
            "lifetime value in the view");
        Assert.True(view!.Value.GetProperty("scores").GetProperty("expectedPurchases52w").GetProperty("value").GetDouble() >= 0);
    }

    [Fact]
    public async Task Training_without_a_known_model_is_a_400_naming_it()
    {
        using var response = await crm.Http.PostAsJsonAsync(Url("/api/v1/models/train"), new { model = "magic" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty("model", out _));
    }
}
