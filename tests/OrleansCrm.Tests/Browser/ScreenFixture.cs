using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using OrleansCrm.Tests.Gateway;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Browser;

/// <summary>
/// A CRM process with a few customers, a segment and two users (an agent; a campaign manager who is also an
/// analyst), all made through the API as an administrator would, and a headless Chromium — the system's
/// <c>/usr/bin/chromium</c>, driven by Playwright; nothing is downloaded.
/// </summary>
public sealed class ScreenFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";
    public const string Password = "screens-password-1";

    private readonly EmbeddedCrmFixture _crm = new();
    private IPlaywright? _playwright;

    /// <summary>This run's mark in logins, names and ids; letters only, as it goes into customers' last names.</summary>
    public string Run { get; } = new([.. Guid.NewGuid().ToString("N")[..8].Select(c => (char)('a' + (c % 26)))]);

    public IBrowser Browser { get; private set; } = null!;

    public Uri Gateway => _crm.Gateway;

    public HttpClient Admin => _crm.Http;

    public string Agent => $"agent-{Run}";

    public string Manager => $"manager-{Run}";

    public string Segment => $"screens-{Run}";

    /// <summary>The customer the agent works with: an accented first name, a large deposit (so an offer is proposed).</summary>
    public string Zoe => $"zoe-{Run}";

    public string ZoeLastName => $"Quintero{Run}";

    public string[] Customers => [Zoe, $"ben-{Run}", $"cas-{Run}"];

    /// <summary>Where the screenshots go: artifacts/screenshots at the repository root.</summary>
    public static string Screenshots { get; } = Path.Combine(Repo.Root, "artifacts", "screenshots");

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"{ChromiumPath} is missing: install Debian's chromium package (scripts/test.sh does).");
        }

        Directory.CreateDirectory(Screenshots);
        await _crm.InitializeAsync();
        await CreateUserAsync(Agent, "agent");
        await CreateUserAsync(Manager, "campaignManager", "analyst");
        await SeedAsync();

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        await _crm.DisposeAsync();
    }

    /// <summary>A fresh browser session (no cookies) at the size the screens are made for.</summary>
    public async Task<IPage> NewPageAsync()
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = Gateway.ToString().TrimEnd('/'),
            ViewportSize = new ViewportSize { Width = 1280, Height = 800 },
        });
        return await context.NewPageAsync();
    }

    public async Task<HttpResponseMessage> PostEventAsync(string customerId, object envelope) =>
        await Admin.PostAsJsonAsync(new Uri(Gateway, $"/api/v1/customers/{customerId}/events"), envelope);

    private async Task CreateUserAsync(string login, params string[] roles)
    {
        using var response = await Admin.PostAsJsonAsync(new Uri(Gateway, "/api/v1/users"), new { login, password = Password, roles, orgUnit = "" });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task SeedAsync()
    {
        var people = new (string Id, string First, string Last, string Region, string Channel, decimal Deposit)[]
        {
            (Zoe, "Zoë", ZoeLastName, "north", "phone", 20000m),
            (Customers[1], "Ben", "Okafor" + Run, "north", "email", 500m),
            (Customers[2], "Cas", "Visser" + Run, "south", "email", 1200m),
        };
        var at = DateTimeOffset.UtcNow.AddHours(-2);
        foreach (var p in people)
        {
            using var put = await Admin.PutAsJsonAsync(new Uri(Gateway, $"/api/v1/customers/{p.Id}"), new
            {
                firstName = p.First,
                lastName = p.Last,
                email = $"{p.Id}@example.com",
                phone = "+31 6 " + (10000000 + Math.Abs(p.Id.GetHashCode(StringComparison.Ordinal) % 89999999)),
                region = p.Region,
                preferredChannel = p.Channel,
                tags = new[] { Segment },
            });
            Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
            foreach (var envelope in new object[]
            {
                new { eventId = "consent", type = "consent.changed", occurredAt = at, channel = "email", data = new { purpose = "marketing", granted = true } },
                new { eventId = "deposit", type = "deposit", occurredAt = at.AddMinutes(1), channel = "branch", data = new { amount = p.Deposit, currency = "EUR" } },
                new { eventId = "purchase", type = "purchase", occurredAt = at.AddMinutes(2), channel = "web", data = new { amount = p.Deposit / 10, currency = "EUR", productId = "p1", productName = "Savings booklet" } },
                new { eventId = "call", type = "call.inbound", occurredAt = at.AddMinutes(3), channel = "phone", data = new { subject = "Opening hours", agent = "desk" } },
            })
            {
                using var posted = await PostEventAsync(p.Id, envelope);
                Assert.True(posted.IsSuccessStatusCode, await posted.Content.ReadAsStringAsync());
            }
        }

        using var segment = await Admin.PutAsJsonAsync(new Uri(Gateway, $"/api/v1/segments/{Segment}"), new { name = $"Screens {Run}", expression = $"""tags contains "{Segment}" """ });
        Assert.True(segment.IsSuccessStatusCode, await segment.Content.ReadAsStringAsync());
        await Poll.UntilAsync(
            async () => await Admin.GetFromJsonAsync<JsonElement>(new Uri(Gateway, $"/api/v1/segments/{Segment}")) is var s
                && s.GetProperty("backfill").GetProperty("finished").GetBoolean() && s.GetProperty("members").GetInt64() == 3,
            TimeSpan.FromSeconds(60),
            "the screens' segment to hold its three customers");
    }
}
