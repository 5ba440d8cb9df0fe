using OrleansCrm.Catalog;

namespace OrleansCrm.Silo.Hosting;

/// <summary>
/// The rule base and offer catalogue a new deployment starts with: the brief's example, "a large deposit arrives →
/// propose higher-yield investment products". The rule also triggers the campaign <c>large-deposit-investment</c>,
/// which does nothing until a triggered campaign of that id is defined and launched. Installed only into an empty
/// catalogue, never over edits.
/// </summary>
public static class DefaultDecisions
{
    public const string Offers = """
        {"offers":[
          {"id":"investment-plus","name":"Investment Plus: higher-yield managed portfolio","category":"investment",
           "channels":["phone","email","branch"],"value":250,"lever":1,"consentPurpose":"marketing","cooldownDays":30}
        ]}
        """;

    public const string Rules = """
        {"rules":[
          {"id":"large-deposit-investment","name":"Large deposit: propose investment products","enabled":true,
           "when":{"type":"deposit","conditions":[{"field":"data.amount","op":">=","value":10000}]},
           "then":[
             {"action":"proposeOffer","offerId":"investment-plus"},
             {"action":"tag","tag":"investment-prospect"},
             {"action":"alert","message":"Large deposit received: call about higher-yield investment products"},
             {"action":"triggerCampaign","campaignId":"large-deposit-investment"}
           ]}
        ]}
        """;

    public static async Task InstallAsync(IGrainFactory grains)
    {
        foreach (var (kind, json) in new[] { (CatalogKinds.Offers, Offers), (CatalogKinds.Rules, Rules) })
        {
            var catalog = grains.GetGrain<ICatalogGrain>(kind);
            if (await catalog.GetVersionAsync() != 0)
            {
                continue;
            }

            try
            {
                await catalog.PutAsync(System.Text.Json.JsonSerializer.Serialize(System.Text.Json.JsonDocument.Parse(json).RootElement), expectedVersion: 0);
            }
            catch (CatalogConflictException)
            {
                // Another silo installed them first.
            }
        }
    }
}
