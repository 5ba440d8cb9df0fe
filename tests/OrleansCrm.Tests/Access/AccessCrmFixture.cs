using System.Net.Http.Json;
using System.Text.Json;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Access;

/// <summary>A CRM process of its own for the access tests (they change capacity, launch campaigns, revoke keys),
/// with helpers to make users and keys through the API as an administrator would.</summary>
public sealed class AccessCrmFixture : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("crm-access-").FullName;

    public CrmProcess Crm { get; private set; } = null!;

    /// <summary>Presents the administrator key from configuration.</summary>
    public HttpClient Admin { get; } = TestAuth.AdminClient(TimeSpan.FromMinutes(2));

    public Uri Gateway => Crm.Http!;

    public string DatabaseFile => Path.Combine(_folder, "data", "crm.db");

    public async Task InitializeAsync()
    {
        var config = TestConfig.Sqlite(DatabaseFile, Ports.Free(), Ports.Free(), Ports.Free());
        Crm = CrmProcess.Start(Repo.SiloDll, _folder, config, "crm");
        await Crm.WaitReadyAsync(Admin, TimeSpan.FromSeconds(90));
    }

    public async Task DisposeAsync()
    {
        await Crm.DisposeAsync();
        Admin.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    /// <summary>Makes an API key with <paramref name="roles"/> in <paramref name="orgUnit"/>; returns its id and secret.</summary>
    public async Task<(string Id, string Secret)> CreateKeyAsync(string name, string orgUnit, params string[] roles)
    {
        using var response = await Admin.PostAsJsonAsync(new Uri(Gateway, "/api/v1/api-keys"), new { name, roles, orgUnit });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        using var json = JsonDocument.Parse(body);
        return (json.RootElement.GetProperty("key").GetProperty("id").GetString()!, json.RootElement.GetProperty("secret").GetString()!);
    }

    /// <summary>A client that presents <paramref name="secret"/> as its API key.</summary>
    public HttpClient KeyClient(string secret)
    {
        var http = new HttpClient { BaseAddress = Gateway, Timeout = TimeSpan.FromMinutes(1) };
        http.DefaultRequestHeaders.Add("X-Api-Key", secret);
        return http;
    }

    public async Task CreateUserAsync(string login, string password, string orgUnit, params string[] roles)
    {
        using var response = await Admin.PostAsJsonAsync(new Uri(Gateway, "/api/v1/users"), new { login, password, roles, orgUnit });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Every audit record, oldest first.</summary>
    public async Task<List<JsonElement>> AuditAsync(string query = "")
    {
        var records = new List<JsonElement>();
        long after = 0;
        while (true)
        {
            using var response = await Admin.GetAsync(new Uri(Gateway, $"/api/v1/audit?limit=1000&after={after}{query}"));
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, body);
            using var json = JsonDocument.Parse(body);
            records.AddRange(json.RootElement.GetProperty("records").EnumerateArray().Select(r => r.Clone()));
            if (json.RootElement.GetProperty("next").ValueKind == JsonValueKind.Null)
            {
                return records;
            }

            after = json.RootElement.GetProperty("next").GetInt64();
        }
    }
}
