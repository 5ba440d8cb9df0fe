using System.Text.Json;
using OrleansCrm.Decisions;

namespace OrleansCrm.Bench;

public static class BenchOffers
{
    /// <summary>Twenty offers with eligibility rules, so next-best-action ranks a realistic catalogue; returns once
    /// the node's silo has loaded them.</summary>
    public static async Task SeedAsync(BenchNode node)
    {
        var offers = Enumerable.Range(0, 20).Select(i => new Offer(
            $"bench-offer-{i}", $"Offer {i}", i % 2 == 0 ? "savings" : "cards", i % 3 == 0 ? ["email", "phone"] : ["phone"], 50 + (10 * i),
            Lever: 1 + (i % 4 * 0.25),
            Eligibility: [new Condition("customer.purchaseCount", ">=", JsonSerializer.SerializeToElement(i % 3))])).ToList();
        var json = JsonSerializer.Serialize(new OfferCatalog(offers), DecisionJson.Options);
        var stored = await node.Grains.GetGrain<OrleansCrm.Catalog.ICatalogGrain>(OrleansCrm.Catalog.CatalogKinds.Offers).PutAsync(json, null);
        var silo = node.App.Services.GetRequiredService<DecisionCatalog>();
        while (silo.Current.OffersVersion < stored.Version)
        {
            await silo.RefreshAsync();
        }
    }
}
