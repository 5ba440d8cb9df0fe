using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Gateway;

/// <summary>The product as the README's run command starts it: one process, silo and gateway, on an SQLite file.</summary>
public sealed class EmbeddedCrmFixture : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("crm-embedded-").FullName;

    public CrmProcess Crm { get; private set; } = null!;

    public HttpClient Http { get; } = TestAuth.AdminClient(TimeSpan.FromMinutes(5));

    public Uri Gateway => Crm.Http!;

    public async Task InitializeAsync()
    {
        var config = TestConfig.Sqlite(Path.Combine(_folder, "data", "crm.db"), Ports.Free(), Ports.Free(), Ports.Free());
        Crm = CrmProcess.Start(Repo.SiloDll, _folder, config, "crm");
        await Crm.WaitReadyAsync(Http, TimeSpan.FromSeconds(90));
    }

    public async Task DisposeAsync()
    {
        await Crm.DisposeAsync();
        Http.Dispose();
        Directory.Delete(_folder, recursive: true);
    }
}

[CollectionDefinition(Name)]
public sealed class EmbeddedCrmCollection : ICollectionFixture<EmbeddedCrmFixture>
{
    public const string Name = "Embedded CRM process";
}
