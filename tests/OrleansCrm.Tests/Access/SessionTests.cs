using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using OrleansCrm.Access;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Access;

/// <summary>Sessions as an attacker with a stolen password list or a stolen token would try them.</summary>
public sealed partial class SignInTests
{
    [Fact]
    public async Task Repeated_wrong_passwords_lock_the_login_alike_whether_or_not_it_exists()
    {
        await crm.CreateUserAsync("lou.locked", "the right password 1", "", Roles.Analyst);
        using var anonymous = new HttpClient { BaseAddress = crm.Gateway };
        async Task<HttpResponseMessage> TryAsync(string login, string password) =>
            await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { login, password });

        foreach (var login in new[] { "lou.locked", "nobody.here" })
        {
            for (var i = 0; i < SignInGuard.FreeFailures; i++)
            {
                using var wrong = await TryAsync(login, $"guess number {i}");
                Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
            }

            using var locked = await TryAsync(login, "the right password 1");
            Assert.Equal(HttpStatusCode.TooManyRequests, locked.StatusCode);
            Assert.True(int.Parse(locked.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture) >= 1);
        }

        var audit = await crm.AuditAsync("&actor=lou.locked");
        Assert.Contains(audit, r => r.GetProperty("entry").GetProperty("outcome").GetString() == "locked" && r.GetProperty("entry").GetProperty("status").GetInt32() == 429);
    }

    [Fact]
    public async Task A_huge_login_or_password_is_refused_before_any_work_and_never_reaches_the_audit_trail()
    {
        using var anonymous = new HttpClient { BaseAddress = crm.Gateway };
        var huge = new string('x', 1_000_000);
        using (var login = await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { login = huge, password = "whatever password" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, login.StatusCode);
            Assert.True((await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("login", out _));
        }

        using (var password = await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { login = "someone", password = huge }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, password.StatusCode);
        }

        var audit = await crm.AuditAsync();
        Assert.All(audit, r => Assert.True(r.GetProperty("entry").GetProperty("actor").GetString()!.Length <= 200));
    }

    [Fact]
    public async Task A_token_stops_working_after_sign_out_and_after_a_password_change()
    {
        await crm.CreateUserAsync("sam.session", "first password 12", "", Roles.Analyst);
        using var anonymous = new HttpClient { BaseAddress = crm.Gateway };
        async Task<HttpClient> SignedInAsync(string password)
        {
            using var signIn = await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { login = "sam.session", password });
            Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
            var client = new HttpClient { BaseAddress = crm.Gateway };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await signIn.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString());
            return client;
        }

        // Signing out ends the token it was made with and every other one of the user's, on the spot.
        using var phone = await SignedInAsync("first password 12");
        using var laptop = await SignedInAsync("first password 12");
        Assert.Equal(HttpStatusCode.OK, (await laptop.GetAsync("/api/v1/auth/me")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await phone.DeleteAsync("/api/v1/auth/session")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await phone.GetAsync("/api/v1/auth/me")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await laptop.GetAsync("/api/v1/auth/me")).StatusCode);

        // A new password ends the sessions made with the old one; new sign-ins work.
        using var before = await SignedInAsync("first password 12");
        using (var change = await crm.Admin.PutAsJsonAsync(new Uri(crm.Gateway, "/api/v1/users/sam.session"), new { password = "second password 12" }))
        {
            Assert.Equal(HttpStatusCode.OK, change.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await before.GetAsync("/api/v1/auth/me")).StatusCode);
        using var after = await SignedInAsync("second password 12");
        Assert.Equal(HttpStatusCode.OK, (await after.GetAsync("/api/v1/auth/me")).StatusCode);
    }

    [Fact]
    public async Task A_change_riding_on_the_session_cookie_from_another_origin_is_refused_and_answers_carry_browser_defenses()
    {
        await crm.CreateUserAsync("cora.cookie", "cookie password 12", "", Roles.CampaignManager);
        var cookies = new CookieContainer();
        using var browser = new HttpClient(new HttpClientHandler { CookieContainer = cookies }) { BaseAddress = crm.Gateway };
        var self = crm.Gateway.GetLeftPart(UriPartial.Authority);
        using (var signIn = await browser.PostAsJsonAsync("/api/v1/auth/session", new { login = "cora.cookie", password = "cookie password 12" }))
        {
            Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        }

        async Task<HttpStatusCode> PutSegmentAsync(string? origin, string? referer)
        {
            using var request = new HttpRequestMessage(HttpMethod.Put, "/api/v1/segments/cookie-seg") { Content = JsonContent.Create(new { name = "c", expression = "tags contains \"c\"" }) };
            if (origin is not null)
            {
                request.Headers.Add("Origin", origin);
            }

            if (referer is not null)
            {
                request.Headers.Referrer = new Uri(referer);
            }

            using var response = await browser.SendAsync(request);
            return response.StatusCode;
        }

        // Another port of the same host, a sibling subdomain, a sandboxed frame, and no origin at all: refused.
        var otherPort = new UriBuilder(crm.Gateway) { Port = crm.Gateway.Port == 1 ? 2 : crm.Gateway.Port - 1 }.Uri.GetLeftPart(UriPartial.Authority);
        Assert.Equal(HttpStatusCode.Forbidden, await PutSegmentAsync(otherPort, null));
        Assert.Equal(HttpStatusCode.Forbidden, await PutSegmentAsync("http://evil.localhost", null));
        Assert.Equal(HttpStatusCode.Forbidden, await PutSegmentAsync("null", null));
        Assert.Equal(HttpStatusCode.Forbidden, await PutSegmentAsync(null, null));
        Assert.Equal(HttpStatusCode.Forbidden, await PutSegmentAsync(null, otherPort + "/campaigns.html"));
        Assert.Equal(HttpStatusCode.NotFound, (await crm.Admin.GetAsync(new Uri(crm.Gateway, "/api/v1/segments/cookie-seg"))).StatusCode);

        // From the site's own pages it works.
        Assert.Equal(HttpStatusCode.OK, await PutSegmentAsync(self, null));
        Assert.Equal(HttpStatusCode.OK, await PutSegmentAsync(null, self + "/campaigns.html"));

        // Pages and answers tell the browser not to sniff, not to be framed, and what a page may load.
        using var page = await browser.GetAsync("/campaigns.html");
        using var answer = await browser.GetAsync("/api/v1/auth/me");
        foreach (var response in new[] { page, answer })
        {
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
            Assert.Contains("frame-ancestors 'none'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        }

        Assert.Contains("script-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.DoesNotContain("style=", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_open_live_stream_ends_when_its_user_is_disabled()
    {
        await crm.CreateUserAsync("liv.live", "live password 123", "", Roles.Agent);
        using (var put = await crm.Admin.PutAsJsonAsync(new Uri(crm.Gateway, "/api/v1/customers/live-c1"), new { firstName = "Lina" }))
        {
            Assert.True(put.IsSuccessStatusCode);
        }

        using var anonymous = new HttpClient { BaseAddress = crm.Gateway };
        using var signIn = await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { login = "liv.live", password = "live password 123" });
        using var agent = new HttpClient { BaseAddress = crm.Gateway, Timeout = TimeSpan.FromMinutes(2) };
        agent.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await signIn.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString());
        using var stream = await agent.GetAsync("/api/v1/customers/live-c1/live", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());
        Assert.StartsWith("event: ready", await reader.ReadLineAsync());

        using (var disable = await crm.Admin.PutAsJsonAsync(new Uri(crm.Gateway, "/api/v1/users/liv.live"), new { enabled = false }))
        {
            Assert.Equal(HttpStatusCode.OK, disable.StatusCode);
        }

        // The stream is checked at each renewal of its watch: it ends within one renewal (20 s) of the change.
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await reader.ReadLineAsync(deadline.Token) is not null)
        {
        }

        Assert.False(deadline.IsCancellationRequested, "the stream was still open a minute after the user was disabled");
    }
}
