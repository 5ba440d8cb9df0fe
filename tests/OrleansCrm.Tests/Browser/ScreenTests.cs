using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace OrleansCrm.Tests.Browser;

/// <summary>
/// The web screens as their users work them, in a headless Chromium against a real CRM process: sign in, find a
/// customer, watch the view follow an event, answer an offer, launch a campaign, read a segment's profile. Each test
/// saves a full-page screenshot of its screen under artifacts/screenshots.
/// </summary>
public sealed class ScreenTests : IClassFixture<ScreenFixture>
{
    private static readonly float Wait = 30_000;
    private readonly ScreenFixture _screens;
    private readonly ITestOutputHelper _output;

    public ScreenTests(ScreenFixture screens, ITestOutputHelper output)
    {
        _screens = screens;
        _output = output;
        SetDefaultExpectTimeout(Wait);
    }

    [Fact]
    public async Task Signing_in_sends_the_agent_back_to_the_screen_asked_for()
    {
        var page = await _screens.NewPageAsync();

        await page.GotoAsync("/callcenter.html");
        await Expect(page).ToHaveURLAsync(new Regex(@"/signin\.html\?next=%2Fcallcenter\.html$"));
        await page.GetByLabel("Login").FillAsync(_screens.Agent);
        await page.GetByLabel("Password").FillAsync("wrong-password-1");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.Locator("#signin-status")).ToHaveTextAsync("The login or password is wrong.");
        await page.GetByLabel("Password").FillAsync(ScreenFixture.Password);
        await ShotAsync(page, "signin");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();

        await Expect(page).ToHaveURLAsync(new Regex(@"/callcenter\.html$"));
        await Expect(page.Locator("#who")).ToContainTextAsync(_screens.Agent);
        await Expect(page.GetByRole(AriaRole.Navigation, new() { Name = "Screens" }).GetByRole(AriaRole.Link)).ToHaveTextAsync(["Call center"]);

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/signin\.html$"));
        await page.GotoAsync("/callcenter.html");
        await Expect(page).ToHaveURLAsync(new Regex(@"/signin\.html\?next="));
    }

    [Theory]
    [InlineData("/%5Cevil.example/")]
    [InlineData("//evil.example/")]
    [InlineData("https://evil.example/")]
    public async Task Signing_in_never_sends_the_user_to_another_site(string next)
    {
        var page = await _screens.NewPageAsync();
        await page.GotoAsync($"/signin.html?next={next}");
        var origin = new Uri(page.Url).GetLeftPart(UriPartial.Authority);
        await page.GetByLabel("Login").FillAsync(_screens.Agent);
        await page.GetByLabel("Password").FillAsync(ScreenFixture.Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();

        await Expect(page).ToHaveURLAsync(new Regex(@"/callcenter\.html$"));
        Assert.StartsWith(origin, page.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_agent_finds_a_customer_by_name_and_the_view_follows_an_event_without_a_reload()
    {
        var page = await SignInAsync(_screens.Agent, "/callcenter.html");

        // Typed without the accent and in other case, as a caller spells it on the phone.
        await page.GetByLabel("Search by").SelectOptionAsync("name");
        await page.GetByLabel("Value").FillAsync($"zoe {_screens.ZoeLastName.ToUpperInvariant()}");
        await page.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = $"Zoë {_screens.ZoeLastName}" }).ClickAsync();
        await Expect(page.Locator("#customer-name")).ToHaveTextAsync($"Zoë {_screens.ZoeLastName}");
        await Expect(page.Locator("#history")).ToContainTextAsync("Opening hours");
        await Expect(page.Locator("#live")).ToHaveTextAsync("Live");
        await page.EvaluateAsync("() => window.sameDocument = true");

        var subject = $"Asked about mortgage rates {Guid.NewGuid():N}"[..40];
        using var posted = await _screens.PostEventAsync(_screens.Zoe, new
        {
            eventId = "live-" + Guid.NewGuid().ToString("N"),
            type = "call.inbound",
            occurredAt = DateTimeOffset.UtcNow,
            channel = "phone",
            data = new { subject, agent = "ivr" },
        });
        Assert.True(posted.IsSuccessStatusCode, await posted.Content.ReadAsStringAsync());

        await Expect(page.Locator("#history")).ToContainTextAsync(subject);
        Assert.True(await page.EvaluateAsync<bool>("() => window.sameDocument === true"), "the page was reloaded");
        await ShotAsync(page, "callcenter-live");
    }

    [Fact]
    public async Task The_agent_answers_an_offer_opens_a_case_and_records_a_contact()
    {
        var page = await SignInAsync(_screens.Agent, $"/callcenter.html?customer={_screens.Zoe}");
        var offer = page.Locator("#nba li[data-offer='investment-plus']");
        await Expect(offer).ToContainTextAsync("Investment Plus");
        await Expect(page.Locator("#scores li")).Not.ToHaveCountAsync(0);

        await offer.GetByRole(AriaRole.Button, new() { Name = "Accept" }).ClickAsync();
        await Expect(page.Locator("#action-status")).ToContainTextAsync("accepted");
        await Expect(page.Locator("#history")).ToContainTextAsync("offer.outcome");

        await page.GetByLabel("Kind").SelectOptionAsync("complaint");
        await page.Locator("#case-subject").FillAsync("Card blocked abroad");
        await page.GetByRole(AriaRole.Button, new() { Name = "Open case" }).ClickAsync();
        await Expect(page.Locator("#cases")).ToContainTextAsync("Card blocked abroad");

        await page.Locator("#contact-subject").FillAsync("Called back about the card");
        await page.Locator("#contact-outcome").FillAsync("resolved");
        await page.GetByRole(AriaRole.Button, new() { Name = "Record contact" }).ClickAsync();
        await Expect(page.Locator("#history")).ToContainTextAsync("Called back about the card");
        await ShotAsync(page, "callcenter");
    }

    [Fact]
    public async Task The_campaign_manager_launches_a_campaign_and_watches_it_complete()
    {
        var page = await SignInAsync(_screens.Manager, "/campaigns.html");
        await Expect(page.Locator($"tr[data-segment='{_screens.Segment}'] .count")).ToHaveTextAsync("3");

        var id = "launch-" + _screens.Run;
        await page.GetByLabel("Campaign id", new() { Exact = true }).FillAsync(id);
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("Spring savings");
        await page.GetByLabel("Segment", new() { Exact = true }).SelectOptionAsync(_screens.Segment);
        await page.GetByLabel("Channel", new() { Exact = true }).SelectOptionAsync("email");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save and launch" }).ClickAsync();
        await Expect(page.Locator("#build-status")).ToHaveTextAsync($"Campaign {id} launched.");

        var card = page.Locator($"section[data-campaign='{id}']");
        await Expect(card.Locator(".state")).ToHaveTextAsync("completed", new() { Timeout = 60_000 });
        await Expect(card.Locator(".targeted")).ToHaveTextAsync("3");
        await Expect(card.GetByRole(AriaRole.Progressbar, new() { Name = $"Segments walked for {id}" })).ToHaveAttributeAsync("aria-valuenow", "16");
        await Expect(card.Locator("svg.chart")).ToHaveCountAsync(2);
        await ShotAsync(page, "campaigns");
    }

    [Fact]
    public async Task The_analyst_reads_a_segment_profile_as_charts()
    {
        var page = await SignInAsync(_screens.Manager, $"/analyst.html?segment={_screens.Segment}");

        await Expect(page.Locator("#members")).ToHaveTextAsync("3");
        await Expect(page.Locator("#arpu-yearly")).Not.ToHaveTextAsync("0.00");
        await Expect(page.Locator("#region-chart rect[data-label='north']")).ToHaveAttributeAsync("data-value", "2");
        await Expect(page.Locator("#region-chart rect[data-label='south']")).ToHaveAttributeAsync("data-value", "1");
        await Expect(page.Locator("#preferred-chart rect[data-label='email']")).ToHaveAttributeAsync("data-value", "2");
        await Expect(page.Locator("#channel-chart rect[data-label='phone']")).ToHaveAttributeAsync("data-value", "3");
        await Expect(page.GetByRole(AriaRole.Img, new() { Name = "Mean churn risk and propensity scores" })).ToBeVisibleAsync();
        await ShotAsync(page, "analyst");
    }

    [Fact]
    public async Task The_start_page_offers_the_screens_of_the_roles()
    {
        var page = await SignInAsync(_screens.Manager, "/index.html");

        await Expect(page.Locator("#tiles a")).ToHaveTextAsync([new Regex("^Campaigns"), new Regex("^Analyst")]);
        await ShotAsync(page, "index");
    }

    private async Task<IPage> SignInAsync(string login, string screen)
    {
        var page = await _screens.NewPageAsync();
        await page.GotoAsync(screen);
        await Expect(page).ToHaveURLAsync(new Regex(@"/signin\.html\?next="));
        await page.GetByLabel("Login").FillAsync(login);
        await page.GetByLabel("Password").FillAsync(ScreenFixture.Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(Regex.Escape(screen) + "$"));
        await Expect(page.Locator("#who")).ToContainTextAsync(login);
        return page;
    }

    private async Task ShotAsync(IPage page, string name)
    {
        var file = Path.Combine(ScreenFixture.Screenshots, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = file, FullPage = true });
        _output.WriteLine($"Screenshot: {file}");
    }
}
