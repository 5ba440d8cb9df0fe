using Microsoft.Data.Sqlite;
using Npgsql;
using OrleansCrm.Gateway.Hosting;
using OrleansCrm.Hosting.Configuration;
using OrleansCrm.Hosting.Logging;
using OrleansCrm.Silo.Hosting;
using OrleansCrm.Silo.Storage;

namespace OrleansCrm.Bench;

/// <summary>One CRM node (silo + gateway) in the bench process, on a fresh database that is dropped afterwards.</summary>
public sealed class BenchNode : IAsyncDisposable
{
    private readonly string _folder;

    private BenchNode(WebApplication app, StorageSettings storage, CrmSettings settings, HttpClient http, string folder)
    {
        App = app;
        Storage = storage;
        Settings = settings;
        Http = http;
        _folder = folder;
        Grains = app.Services.GetRequiredService<IClusterClient>();
    }

    public static string Machine =>
        $"{Environment.ProcessorCount} cores, {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024):0} GiB, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}, {GcMode}";

    /// <summary>The garbage collector's mode as the runtime reports it: server or workstation, and whether its dynamic
    /// adaptation (DATAS, which resizes the heap count and gen0 budget) is on; both move the CRM's p99.</summary>
    private static string GcMode
    {
        get
        {
            var gc = GC.GetConfigurationVariables();
            var server = gc.TryGetValue("ServerGC", out var s) && s is true;
            var datas = gc.TryGetValue("GCDynamicAdaptationMode", out var d) && Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture) != 0;
            return server ? $"server GC, DATAS {(datas ? "on" : "off")}" : "workstation GC";
        }
    }

    public WebApplication App { get; }

    public StorageSettings Storage { get; }

    public CrmSettings Settings { get; }

    public string ServiceId => Settings.ServiceId;

    public IClusterClient Grains { get; }

    public HttpClient Http { get; }

    /// <summary>The administrator key the bench's node is configured with and its client presents.</summary>
    public const string BenchAdminKey = "bench-admin-key-0123456789abcdef01234567";

    /// <summary>Where the node's HTTP gateway listens.</summary>
    public const string GatewayUrl = "http://127.0.0.1:5099";

    /// <param name="keepActive">Keeps idle customers active for two hours, so a population woken before a long
    /// measurement is still active when it is measured, and lets lookup-index entries go after 30 idle seconds (a
    /// first wake claims four per customer; nothing measured reads them), so a million woken customers fit in memory
    /// and the entries are gone before the measurements start.</param>
    /// <param name="maxPoolSize">PostgreSQL connections the node may open (the database server is shared).</param>
    public static async Task<BenchNode> StartAsync(string? postgres, int concurrency, bool keepActive = false, int maxPoolSize = 200)
    {
        var folder = Directory.CreateTempSubdirectory("crm-bench-").FullName;
        var storage = postgres is { } pg
            ? new StorageSettings(StorageKind.Postgres, CrmConfiguration.WithAutoPrepare(new NpgsqlConnectionStringBuilder(pg) { Database = "crm_bench_" + Guid.NewGuid().ToString("N")[..8], MaxPoolSize = maxPoolSize }))
            : new StorageSettings(StorageKind.Sqlite, $"Data Source={Path.Combine(folder, "crm.db")};Default Timeout=30;Pooling=True");
        var settings = new CrmSettings(
            "bench", "orleans-crm-bench", storage,
            new SiloSettings("127.0.0.1", 21111, 31000, false, true),
            new GatewaySettings(GatewayUrl, TimeSpan.FromSeconds(30), Dashboard: false, AdminKey: BenchAdminKey, RequestsPerMinute: 10_000_000),
            new LogSettings(Serilog.Events.LogEventLevel.Warning, Serilog.Events.LogEventLevel.Warning, false),
            Path.Combine(folder, "cluster.json"));

        await SchemaMigrator.MigrateAsync(storage);
        if (storage.Kind == StorageKind.Postgres)
        {
            lock (Live)
            {
                Live.Add(storage.ConnectionString);
            }
        }

        var builder = WebApplication.CreateBuilder();
        builder.AddCrmLogging(settings, "bench");
        builder.AddCrmSilo(settings);
        if (keepActive)
        {
            builder.Services.Configure<Orleans.Configuration.GrainCollectionOptions>(o =>
            {
                o.CollectionQuantum = TimeSpan.FromSeconds(15);
                o.ClassSpecificCollectionAge[typeof(OrleansCrm.Customers.CustomerGrain).FullName!] = TimeSpan.FromHours(2);
            });
        }

        builder.AddCrmGateway(settings);
        var app = builder.Build();
        app.MapCrmGateway(settings);
        await app.StartAsync();
        var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency * 2 }) { BaseAddress = new Uri(GatewayUrl), Timeout = TimeSpan.FromMinutes(5) };
        http.DefaultRequestHeaders.Add("X-Api-Key", BenchAdminKey);
        return new BenchNode(app, storage, settings, http, folder);
    }

    /// <summary>Databases of nodes not yet disposed, so an interrupted run can drop them (<see cref="DropLiveDatabases"/>).</summary>
    private static readonly List<string> Live = [];

    /// <summary>Drops the databases of the nodes still running: called when the run is interrupted (Ctrl+C or
    /// SIGTERM), so a stopped million-customer run does not leave gigabytes behind on the server.</summary>
    public static void DropLiveDatabases()
    {
        string[] live;
        lock (Live)
        {
            live = [.. Live];
            Live.Clear();
        }

        foreach (var connectionString in live)
        {
            var database = new NpgsqlConnectionStringBuilder(connectionString).Database;
            Console.Error.WriteLine($"Interrupted: dropping {database}");
            using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Database = "postgres", Pooling = false }.ConnectionString);
            connection.Open();
            using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)", connection);
            drop.ExecuteNonQuery();
        }
    }

    public async ValueTask DisposeAsync()
    {
        lock (Live)
        {
            Live.Remove(Storage.ConnectionString);
        }

        await App.StopAsync();
        Http.Dispose();
        SqliteConnection.ClearAllPools();
        if (Storage.Kind == StorageKind.Postgres)
        {
            NpgsqlConnection.ClearAllPools();
            var database = new NpgsqlConnectionStringBuilder(Storage.ConnectionString).Database;
            await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(Storage.ConnectionString) { Database = "postgres", Pooling = false }.ConnectionString);
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync();
        }

        Directory.Delete(_folder, recursive: true);
    }
}
