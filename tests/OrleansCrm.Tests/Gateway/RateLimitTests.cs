using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Gateway;

/// <summary>A caller's request budget, on a process configured with a small one.</summary>
public sealed class RateLimitTests
{
    [Fact]
    public async Task A_caller_over_budget_gets_429_with_retry_after_while_health_stays_open()
    {
        var folder = Directory.CreateTempSubdirectory("crm-limits-").FullName;
        try
        {
            using var http = TestAuth.AdminClient(TimeSpan.FromSeconds(60));
            var config = TestConfig.Sqlite(Path.Combine(folder, "data", "crm.db"), Ports.Free(), Ports.Free(), Ports.Free());
            config["gateway"]!["requestsPerMinute"] = 5;
            await using var crm = CrmProcess.Start(Repo.SiloDll, folder, config, "crm");
            await crm.WaitReadyAsync(http, TimeSpan.FromSeconds(90));

            var url = new Uri(crm.Http!, "/api/v1/customers/nobody-here");
            var statuses = new List<HttpStatusCode>();
            HttpResponseMessage? refused = null;
            for (var i = 0; i < 8 && refused is null; i++)
            {
                var response = await http.GetAsync(url);
                statuses.Add(response.StatusCode);
                if (response.StatusCode == HttpStatusCode.TooManyRequests)
                {
                    refused = response;
                }
                else
                {
                    response.Dispose();
                }
            }

            Assert.NotNull(refused);
            using (refused)
            {
                // A minute's budget is the burst: five answers, then the refusal.
                Assert.Equal(5, statuses.Count(s => s == HttpStatusCode.NotFound));
                Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
                var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
                Assert.Equal(429, problem.GetProperty("status").GetInt32());
                var retryAfter = int.Parse(refused.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture);
                Assert.InRange(retryAfter, 1, 60);
            }

            for (var i = 0; i < 10; i++)
            {
                using var health = await http.GetAsync(new Uri(crm.Http!, "/health/live"));
                Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
