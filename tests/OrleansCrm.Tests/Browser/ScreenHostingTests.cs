using System.Net;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Browser;

/// <summary>The screens are served by whichever process hosts the gateway — the silo (embedded gateway) and the
/// standalone gateway — each started from a working folder far from the build output, as an operator would.</summary>
public sealed class ScreenHostingTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("crm-screens-hosting-").FullName;
    private readonly HttpClient _http = TestAuth.AdminClient(TimeSpan.FromMinutes(1));
    private readonly HttpClient _anonymous = new() { Timeout = TimeSpan.FromMinutes(1) };
    private CrmProcess _silo = null!;
    private CrmProcess _gateway = null!;

    public async Task InitializeAsync()
    {
        var db = Path.Combine(_folder, "data", "crm.db");
        var (siloPort, gatewayPort) = (Ports.Free(), Ports.Free());
        _silo = CrmProcess.Start(Repo.SiloDll, Path.Combine(_folder, "silo"), TestConfig.Sqlite(db, siloPort, gatewayPort, Ports.Free()), "silo");
        await _silo.WaitReadyAsync(_http, TimeSpan.FromSeconds(90));
        _gateway = CrmProcess.Start(Repo.GatewayDll, Path.Combine(_folder, "gateway"), TestConfig.Sqlite(db, siloPort, gatewayPort, Ports.Free()), "gateway");
        await _gateway.WaitReadyAsync(_http, TimeSpan.FromSeconds(90));
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _silo.DisposeAsync();
        _http.Dispose();
        _anonymous.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task The_silo_and_the_standalone_gateway_serve_the_screens_to_anyone_and_the_api_only_with_a_session()
    {
        foreach (var process in new[] { _silo, _gateway })
        {
            using var start = await _anonymous.GetAsync(process.Http);
            using var signIn = await _anonymous.GetAsync(new Uri(process.Http!, "/signin.html"));
            using var charts = await _anonymous.GetAsync(new Uri(process.Http!, "/js/charts.js"));
            using var me = await _anonymous.GetAsync(new Uri(process.Http!, "/api/v1/auth/me"));

            Assert.Equal(HttpStatusCode.OK, start.StatusCode);
            Assert.Equal("text/html", start.Content.Headers.ContentType?.MediaType);
            Assert.Contains("<title>OrleansCrm</title>", await start.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
            Assert.Contains("id=\"signin-form\"", await signIn.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, charts.StatusCode);
            Assert.Equal("text/javascript", charts.Content.Headers.ContentType?.MediaType);
            Assert.Equal(HttpStatusCode.Unauthorized, me.StatusCode);
        }
    }
}
