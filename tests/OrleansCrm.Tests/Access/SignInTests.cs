using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using OrleansCrm.Access;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Access;

/// <summary>Users, bearer tokens, the web session cookie, API keys and the first administrator, as people use them.</summary>
public sealed partial class SignInTests(AccessCrmFixture crm) : IClassFixture<AccessCrmFixture>
{
    [Fact]
    public async Task Only_health_and_sign_in_answer_without_credentials()
    {
        using var anonymous = new HttpClient { BaseAddress = crm.Gateway };
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health/ready")).StatusCode);
        foreach (var path in new[] { "/api/v1/segments", "/api/v1/customers/x", "/openapi/v1.json", "/dashboard", "/api/v1/auth/me" })
        {
            using var response = await anonymous.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{path}: {(int)response.StatusCode}");
        }

        using var refused = await anonymous.GetAsync("/api/v1/segments");
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void The_database_file_and_its_folder_are_readable_by_the_crms_account_only()
    {
        const UnixFileMode Others = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
            | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        var folder = Path.GetDirectoryName(crm.DatabaseFile)!;

        Assert.Equal(UnixFileMode.None, File.GetUnixFileMode(folder) & Others);
        var files = Directory.GetFiles(folder);
        Assert.Contains(crm.DatabaseFile, files);
        Assert.All(files, f => Assert.True((File.GetUnixFileMode(f) & Others) == UnixFileMode.None, $"{f}: {File.GetUnixFileMode(f)}"));
    }

    [Fact]
    public async Task Rotating_the_signing_key_refuses_every_token_signed_before_and_new_sign_ins_work()
    {
        await crm.CreateUserAsync("rita.rotate", "rotation password 1", "", Roles.Analyst);
        using var anonymous = new HttpClient { BaseAddress = crm.Gateway };
        async Task<string> SignInAsync()
        {
            using var signIn = await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { login = "rita.rotate", password = "rotation password 1" });
            Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
            return (await signIn.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
        }

        async Task<HttpStatusCode> MeAsync(string token)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/auth/me");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await anonymous.SendAsync(request);
            return response.StatusCode;
        }

        var before = await SignInAsync();
        Assert.Equal(HttpStatusCode.OK, await MeAsync(before));

        using (var rotate = await crm.Admin.PostAsync(new Uri(crm.Gateway, "/api/v1/signing-key/rotate"), null))
        {
            Assert.Equal(HttpStatusCode.NoContent, rotate.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await MeAsync(before));
        Assert.Equal(HttpStatusCode.OK, await MeAsync(await SignInAsync()));
        using var asAnalyst = new HttpRequestMessage(HttpMethod.Post, "/api/v1/signing-key/rotate");
        asAnalyst.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await SignInAsync());
        using var refused = await anonymous.SendAsync(asAnalyst);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }

    [Fact]
    public async Task A_user_signs_in_for_a_token_and_a_wrong_password_is_refused_and_audited()
    {
        await crm.CreateUserAsync("ana.agent", "a long enough password", "nl/north", Roles.Agent);
        using var anonymous = new HttpClient { BaseAddress = crm.Gateway };
        using (var wrong = await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { login = "ana.agent", password = "not her password" }))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        using var signIn = await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { login = "ana.agent", password = "a long enough password" });
        var body = await signIn.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        Assert.Equal("Bearer", body.GetProperty("tokenType").GetString());

        using var withToken = new HttpClient { BaseAddress = crm.Gateway };
        withToken.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", body.GetProperty("token").GetString());
        var me = await withToken.GetFromJsonAsync<JsonElement>("/api/v1/auth/me");
        Assert.Equal("ana.agent", me.GetProperty("login").GetString());
        Assert.Equal("nl/north", me.GetProperty("orgUnit").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, (await withToken.GetAsync("/api/v1/segments")).StatusCode);

        // A tampered token is worthless.
        using var tampered = new HttpClient { BaseAddress = crm.Gateway };
        tampered.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", body.GetProperty("token").GetString()![..^4] + "AAAA");
        Assert.Equal(HttpStatusCode.Unauthorized, (await tampered.GetAsync("/api/v1/auth/me")).StatusCode);

        var audit = await crm.AuditAsync("&actor=ana.agent");
        Assert.Contains(audit, r => r.GetProperty("entry").GetProperty("action").GetString() == "SignIn" && r.GetProperty("entry").GetProperty("status").GetInt32() == 401);
        Assert.Contains(audit, r => r.GetProperty("entry").GetProperty("action").GetString() == "ListSegments" && r.GetProperty("entry").GetProperty("status").GetInt32() == 403);
    }

    [Fact]
    public async Task The_web_session_is_an_http_only_cookie_that_signing_out_clears()
    {
        await crm.CreateUserAsync("carl.manager", "another long password", "", Roles.CampaignManager);
        var cookies = new CookieContainer();
        using var browser = new HttpClient(new HttpClientHandler { CookieContainer = cookies }) { BaseAddress = crm.Gateway };

        // As a browser does on the site's own pages: changes name their origin.
        browser.DefaultRequestHeaders.Add("Origin", crm.Gateway.GetLeftPart(UriPartial.Authority));
        using var signIn = await browser.PostAsJsonAsync("/api/v1/auth/session", new { login = "carl.manager", password = "another long password" });
        Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        var setCookie = Assert.Single(signIn.Headers.GetValues("Set-Cookie"));
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.False((await signIn.Content.ReadFromJsonAsync<JsonElement>()).TryGetProperty("token", out var token) && token.ValueKind == JsonValueKind.String);

        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/api/v1/segments")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await browser.DeleteAsync("/api/v1/auth/session")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync("/api/v1/segments")).StatusCode);
    }

    [Fact]
    public async Task An_api_key_is_shown_once_stored_hashed_and_refused_once_revoked()
    {
        var (id, secret) = await crm.CreateKeyAsync("erp", "", Roles.Integrator);
        using var erp = crm.KeyClient(secret);
        using (var put = await erp.PutAsJsonAsync("/api/v1/customers/key-c1", new { firstName = "Keyed" }))
        {
            Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        }

        var listed = await crm.Admin.GetFromJsonAsync<JsonElement>(new Uri(crm.Gateway, "/api/v1/api-keys"));
        Assert.DoesNotContain(secret, listed.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain(secret[17..], await ReadDatabaseTextAsync(crm.DatabaseFile), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.NoContent, (await crm.Admin.DeleteAsync(new Uri(crm.Gateway, $"/api/v1/api-keys/{id}"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await erp.GetAsync("/api/v1/customers/key-c1")).StatusCode);

        using var wrongSecret = crm.KeyClient(secret[..^1] + (secret[^1] == 'a' ? 'b' : 'a'));
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrongSecret.GetAsync("/api/v1/auth/me")).StatusCode);
    }

    [Fact]
    public async Task Users_are_validated_and_a_disabled_user_cannot_sign_in_nor_use_an_earlier_token()
    {
        using (var bad = await crm.Admin.PostAsJsonAsync(new Uri(crm.Gateway, "/api/v1/users"), new { login = "Bad Login", password = "short", roles = new[] { "wizard" }, orgUnit = "" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.True((await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("login", out _));
        }

        await crm.CreateUserAsync("dora.analyst", "analyst password 1", "nl", Roles.Analyst);
        using var anonymous = new HttpClient { BaseAddress = crm.Gateway };
        using var first = await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { login = "dora.analyst", password = "analyst password 1" });
        using var withToken = new HttpClient { BaseAddress = crm.Gateway };
        withToken.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString());
        Assert.Equal(HttpStatusCode.OK, (await withToken.GetAsync("/api/v1/segments")).StatusCode);

        using (var change = await crm.Admin.PutAsJsonAsync(new Uri(crm.Gateway, "/api/v1/users/dora.analyst"), new { enabled = false }))
        {
            Assert.Equal(HttpStatusCode.OK, change.StatusCode);
        }

        using var signIn = await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { login = "dora.analyst", password = "analyst password 1" });
        Assert.Equal(HttpStatusCode.Unauthorized, signIn.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await withToken.GetAsync("/api/v1/segments")).StatusCode);
        var users = await crm.Admin.GetFromJsonAsync<JsonElement>(new Uri(crm.Gateway, "/api/v1/users"));
        Assert.DoesNotContain("analyst password 1", users.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain("passwordHash", users.GetRawText(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Create_admin_reads_the_password_from_standard_input_and_refuses_a_second_administrator()
    {
        var folder = Directory.CreateTempSubdirectory("crm-create-admin-").FullName;
        try
        {
            var config = TestConfig.Sqlite(Path.Combine(folder, "data", "crm.db"), Ports.Free(), Ports.Free(), Ports.Free());
            config["gateway"]!.AsObject().Remove("adminKey");
            var configPath = Path.Combine(folder, "cluster.json");
            await File.WriteAllTextAsync(configPath, config.ToJsonString());

            var first = await CreateAdminAsync(configPath, "root.admin", "the first admin password");
            Assert.True(first.ExitCode == 0, first.Output);
            var second = await CreateAdminAsync(configPath, "other.admin", "another admin password");
            Assert.NotEqual(0, second.ExitCode);
            Assert.Contains("an administrator exists already", second.Output, StringComparison.Ordinal);
            var tooShort = await CreateAdminAsync(configPath, "x", "short");
            Assert.Contains("password", tooShort.Output, StringComparison.Ordinal);

            await using var process = CrmProcess.Start(Repo.SiloDll, folder, config, "crm");
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            await process.WaitReadyAsync(http, TimeSpan.FromSeconds(90));
            using var signIn = await http.PostAsJsonAsync(new Uri(process.Http!, "/api/v1/auth/token"), new { login = "root.admin", password = "the first admin password" });
            Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
            Assert.False(File.Exists(Path.Combine(folder, "data", "initial-admin-password")), "a deployment with an administrator gets no generated one");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task A_fresh_deployment_without_an_admin_key_makes_an_administrator_whose_password_is_in_a_private_file()
    {
        var folder = Directory.CreateTempSubdirectory("crm-first-start-").FullName;
        try
        {
            var config = TestConfig.Sqlite(Path.Combine(folder, "data", "crm.db"), Ports.Free(), Ports.Free(), Ports.Free());
            config["gateway"]!.AsObject().Remove("adminKey");
            await using var process = CrmProcess.Start(Repo.SiloDll, folder, config, "crm");
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            await process.WaitReadyAsync(http, TimeSpan.FromSeconds(90));
            var file = Path.Combine(folder, "data", "initial-admin-password");
            Assert.Contains(file, process.Output, StringComparison.Ordinal);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            }

            var password = (await File.ReadAllTextAsync(file)).Trim();
            using var signIn = await http.PostAsJsonAsync(new Uri(process.Http!, "/api/v1/auth/token"), new { login = "admin", password });
            Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task<(int ExitCode, string Output)> CreateAdminAsync(string configPath, string login, string password)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { Repo.SiloDll, "create-admin", "--login", login, "--config", configPath })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        await process.StandardInput.WriteLineAsync(password);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>Every byte of the database files as text, to check a secret is nowhere in them.</summary>
    private static async Task<string> ReadDatabaseTextAsync(string dbFile)
    {
        var text = new System.Text.StringBuilder();
        foreach (var file in new[] { dbFile, dbFile + "-wal" }.Where(File.Exists))
        {
            await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream, System.Text.Encoding.Latin1);
            text.Append(await reader.ReadToEndAsync());
        }

        return text.ToString();
    }
}
