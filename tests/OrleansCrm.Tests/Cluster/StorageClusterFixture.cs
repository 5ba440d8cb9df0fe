using Microsoft.Extensions.Configuration;
using Orleans.TestingHost;
using OrleansCrm.Hosting.Configuration;
using OrleansCrm.Silo.Hosting;
using OrleansCrm.Silo.Storage;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Cluster;

/// <summary>
/// An in-process test cluster on real storage: ADO.NET clustering, grain storage and reminders on the same
/// database the product uses (an SQLite file, or a PostgreSQL database of its own).
/// </summary>
public abstract class StorageClusterFixture : IAsyncLifetime
{
    private const string InvariantKey = "CrmTest:Invariant";
    private const string ConnectionKey = "CrmTest:Connection";

    public TestCluster Cluster { get; private set; } = null!;

    protected abstract Task<StorageSettings> CreateStorageAsync();

    protected virtual Task DropStorageAsync() => Task.CompletedTask;

    public async Task InitializeAsync()
    {
        var storage = await CreateStorageAsync();
        await SchemaMigrator.MigrateAsync(storage);
        var builder = new TestClusterBuilder(initialSilosCount: 2);
        builder.Options.UseTestClusterMembership = false;
        builder.ConfigureHostConfiguration(c => c.AddInMemoryCollection(new Dictionary<string, string?>
        {
            [InvariantKey] = storage.Kind.ToString(),
            [ConnectionKey] = storage.ConnectionString,
        }));
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        builder.AddClientBuilderConfigurator<ClientConfigurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        await DropStorageAsync();
    }

    private static StorageSettings Read(IConfiguration configuration) =>
        new(Enum.Parse<StorageKind>(configuration[InvariantKey]!), configuration[ConnectionKey]!);

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            var storage = Read(siloBuilder.Configuration);
            siloBuilder.UseAdoNetClustering(o =>
            {
                o.Invariant = storage.Invariant;
                o.ConnectionString = storage.ConnectionString;
            });
            siloBuilder.AddCrmStorage(storage);
        }
    }

    private sealed class ClientConfigurator : IClientBuilderConfigurator
    {
        public void Configure(IConfiguration configuration, IClientBuilder clientBuilder)
        {
            var storage = Read(configuration);
            clientBuilder.UseAdoNetClustering(o =>
            {
                o.Invariant = storage.Invariant;
                o.ConnectionString = storage.ConnectionString;
            });
            clientBuilder.AddMemoryStreams(StorageNames.Streams);
        }
    }
}

public sealed class SqliteClusterFixture : StorageClusterFixture
{
    private readonly string _folder = Directory.CreateTempSubdirectory("crm-cluster-").FullName;

    protected override Task<StorageSettings> CreateStorageAsync() =>
        Task.FromResult(new StorageSettings(StorageKind.Sqlite, $"Data Source={Path.Combine(_folder, "crm.db")};Default Timeout=30"));

    protected override Task DropStorageAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
        return Task.CompletedTask;
    }
}

public sealed class PostgresClusterFixture : StorageClusterFixture
{
    private readonly TestPostgres _database = TestPostgres.Reserve();

    public TestPostgres Database => _database;

    protected override Task<StorageSettings> CreateStorageAsync() =>
        Task.FromResult(new StorageSettings(StorageKind.Postgres, _database.ConnectionString));

    protected override async Task DropStorageAsync() => await _database.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class SqliteClusterCollection : ICollectionFixture<SqliteClusterFixture>
{
    public const string Name = "SQLite cluster";
}

[CollectionDefinition(Name)]
public sealed class PostgresClusterCollection : ICollectionFixture<PostgresClusterFixture>
{
    public const string Name = "PostgreSQL cluster";
}
