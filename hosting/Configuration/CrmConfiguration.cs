using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Npgsql;
using Serilog.Events;

namespace OrleansCrm.Hosting.Configuration;

/// <summary>
/// Reads <c>cluster.json</c>, layers environment variables (<c>CRM_</c> prefix, <c>__</c> for nesting) and
/// command-line switches (<c>--storage:kind=postgres</c>) over it, and validates the result.
/// Every problem is reported as a <see cref="ConfigurationProblemException"/> naming the key.
/// </summary>
public static class CrmConfiguration
{
    public const string FileName = "cluster.json";
    public const string EnvironmentPrefix = "CRM_";

    private static readonly Dictionary<string, string[]> KnownKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        [""] = ["clusterId", "serviceId", "storage", "silo", "gateway", "log"],
        ["storage"] = ["kind", "connectionString"],
        ["silo"] = ["advertisedAddress", "siloPort", "gatewayPort", "listenOnAnyAddress", "hostGateway", "metricsPort", "probeTimeoutSeconds"],
        ["gateway"] = ["urls", "callTimeoutSeconds", "dashboard", "adminKey", "requestsPerMinute", "tokenLifetimeMinutes", "dashboardPort"],
        ["log"] = ["level", "orleansLevel", "format", "everyRequest", "slowRequestMs"],
    };

    /// <summary>Finds the configuration file: <c>--config PATH</c>, then <c>CRM_CONFIG</c>, then the nearest
    /// <c>cluster.json</c> in the working folder or its parents, then the one beside the program.</summary>
    public static string LocateFile(IReadOnlyList<string> args)
    {
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] is "--config" or "-c")
            {
                if (i + 1 >= args.Count)
                {
                    throw new ConfigurationProblemException("--config: a path to a cluster.json file must follow");
                }

                return Path.GetFullPath(args[i + 1]);
            }

            if (args[i].StartsWith("--config=", StringComparison.Ordinal))
            {
                return Path.GetFullPath(args[i]["--config=".Length..]);
            }
        }

        var fromEnvironment = Environment.GetEnvironmentVariable("CRM_CONFIG");
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return Path.GetFullPath(fromEnvironment);
        }

        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, FileName);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return Path.Combine(AppContext.BaseDirectory, FileName);
    }

    /// <summary>Removes the switches this class consumes so the rest can go to the host's command-line source.</summary>
    public static string[] WithoutConfigSwitch(IReadOnlyList<string> args)
    {
        var rest = new List<string>(args.Count);
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] is "--config" or "-c")
            {
                i++;
                continue;
            }

            if (!args[i].StartsWith("--config=", StringComparison.Ordinal))
            {
                rest.Add(args[i]);
            }
        }

        return [.. rest];
    }

    /// <summary>Adds the layered sources to <paramref name="builder"/>: the file, then CRM_ variables, then switches.</summary>
    public static void AddCrmSources(IConfigurationBuilder builder, string path, string[] args)
    {
        CheckFile(path);
        builder.AddJsonFile(path, optional: false, reloadOnChange: false);
        builder.AddEnvironmentVariables(EnvironmentPrefix);
        builder.AddCommandLine(args);
    }

    /// <summary>Loads and validates the settings in one step (for tools that need no host).</summary>
    public static CrmSettings Load(IReadOnlyList<string> args)
    {
        var path = LocateFile(args);
        var builder = new ConfigurationBuilder();
        AddCrmSources(builder, path, WithoutConfigSwitch(args));
        return Bind(builder.Build(), path);
    }

    /// <summary>Validates configuration that already holds the CRM sources.</summary>
    public static CrmSettings Bind(IConfiguration configuration, string path)
    {
        var name = Path.GetFileName(path);
        var reader = new Reader(configuration, name);

        var clusterId = reader.Identifier("clusterId");
        var serviceId = reader.Identifier("serviceId");
        var storage = ReadStorage(reader, path);

        var advertised = reader.Text("silo:advertisedAddress", "127.0.0.1");
        if (!IPAddress.TryParse(advertised, out _))
        {
            throw reader.Problem("silo:advertisedAddress", $"must be an IP address, got \"{advertised}\"");
        }

        var siloPort = reader.Port("silo:siloPort", 11111);
        var gatewayPort = reader.Port("silo:gatewayPort", 30000);
        if (siloPort == gatewayPort)
        {
            throw reader.Problem("silo:gatewayPort", $"must differ from silo.siloPort (both are {siloPort})");
        }

        var silo = new SiloSettings(
            advertised,
            siloPort,
            gatewayPort,
            reader.Flag("silo:listenOnAnyAddress", false),
            reader.Flag("silo:hostGateway", true),
            reader.Number("silo:metricsPort", 0, min: 0, max: 65535),
            TimeSpan.FromSeconds(reader.Number("silo:probeTimeoutSeconds", (int)SiloSettings.DefaultProbeTimeout.TotalSeconds, min: 1, max: 60)));
        if (silo.MetricsPort != 0 && (silo.MetricsPort == siloPort || silo.MetricsPort == gatewayPort))
        {
            throw reader.Problem("silo:metricsPort", $"must differ from silo.siloPort and silo.gatewayPort (both use {silo.MetricsPort})");
        }

        if (silo.MetricsPort != 0 && silo.HostGateway)
        {
            throw reader.Problem("silo:metricsPort", "is for silos with hostGateway false; a silo that hosts the gateway serves /metrics with the API");
        }

        var urls = reader.Text("gateway:urls", "http://127.0.0.1:5080");
        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                throw reader.Problem("gateway:urls", $"must be http:// or https:// URLs separated by ';', got \"{url}\"");
            }
        }

        var timeout = reader.Number("gateway:callTimeoutSeconds", 10, min: 1, max: 300);
        var adminKey = reader.Text("gateway:adminKey", "");
        if (adminKey.Length is > 0 and < 32)
        {
            throw reader.Problem("gateway:adminKey", $"must be at least 32 characters (it is a password for an administrator), got {adminKey.Length}");
        }

        var gateway = new GatewaySettings(
            urls,
            TimeSpan.FromSeconds(timeout),
            reader.Flag("gateway:dashboard", true),
            adminKey.Length == 0 ? null : adminKey,
            reader.Number("gateway:requestsPerMinute", 6000, min: 1, max: 10_000_000),
            TimeSpan.FromMinutes(reader.Number("gateway:tokenLifetimeMinutes", 60, min: 1, max: 24 * 60)),
            reader.Number("gateway:dashboardPort", 0, min: 0, max: 65535));
        if (gateway.DashboardPort != 0 && gateway.ListenUrls.SkipLast(1).Any(u => u.TrimEnd('/').EndsWith(":" + gateway.DashboardPort.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)))
        {
            throw reader.Problem("gateway:dashboardPort", $"must differ from the ports in gateway.urls (both use {gateway.DashboardPort})");
        }

        var format = reader.Text("log:format", "text");
        if (format is not ("text" or "json"))
        {
            throw reader.Problem("log:format", $"must be \"text\" or \"json\", got \"{format}\"");
        }

        var log = new LogSettings(
            reader.Level("log:level", LogEventLevel.Information),
            reader.Level("log:orleansLevel", LogEventLevel.Warning),
            format == "json",
            reader.Flag("log:everyRequest", false),
            reader.Number("log:slowRequestMs", 500, min: 1, max: 3_600_000));

        return new CrmSettings(clusterId, serviceId, storage, silo, gateway, log, path);
    }

    private static StorageSettings ReadStorage(Reader reader, string path)
    {
        var kindText = reader.Required("storage:kind");
        var connection = reader.Text("storage:connectionString", "");
        switch (kindText.ToLowerInvariant())
        {
            case "sqlite":
                return new StorageSettings(StorageKind.Sqlite, SqliteConnection(reader, connection, path));
            case "postgres":
            case "postgresql":
                if (string.IsNullOrWhiteSpace(connection))
                {
                    throw reader.Problem("storage:connectionString", "is required when storage.kind is \"postgres\"");
                }

                try
                {
                    var pg = new NpgsqlConnectionStringBuilder(connection);
                    if (string.IsNullOrWhiteSpace(pg.Host))
                    {
                        throw reader.Problem("storage:connectionString", "names no Host");
                    }

                    return new StorageSettings(StorageKind.Postgres, WithAutoPrepare(pg));
                }
                catch (ArgumentException e)
                {
                    throw reader.Problem("storage:connectionString", $"is not a valid PostgreSQL connection string ({FirstLine(e.Message)})");
                }
            default:
                throw reader.Problem("storage:kind", $"must be \"sqlite\" or \"postgres\", got \"{kindText}\"");
        }
    }

    /// <summary>
    /// Every statement the silo sends is one of a few dozen texts repeated millions of times; unless the operator
    /// chose otherwise, Npgsql prepares them on the server after their second use, which spares PostgreSQL parsing
    /// and planning each one again (measured: docs/decisions.md).
    /// </summary>
    public static string WithAutoPrepare(NpgsqlConnectionStringBuilder pg)
    {
        if (pg.MaxAutoPrepare == 0)
        {
            pg.MaxAutoPrepare = 64;
            pg.AutoPrepareMinUsages = 2;
        }

        return pg.ConnectionString;
    }

    private static string SqliteConnection(Reader reader, string connection, string path)
    {
        SqliteConnectionStringBuilder builder;
        try
        {
            builder = new SqliteConnectionStringBuilder(string.IsNullOrWhiteSpace(connection) ? "Data Source=data/crm.db" : connection);
        }
        catch (ArgumentException e)
        {
            throw reader.Problem("storage:connectionString", $"is not a valid SQLite connection string ({FirstLine(e.Message)})");
        }

        if (string.IsNullOrWhiteSpace(builder.DataSource) || builder.DataSource == ":memory:" || builder.Mode == SqliteOpenMode.Memory)
        {
            throw reader.Problem("storage:connectionString", "must name a database file (Data Source=...); an in-memory database would lose everything at stop");
        }

        // A relative file is relative to cluster.json, so the same file is used whatever the working folder.
        if (!Path.IsPathRooted(builder.DataSource))
        {
            builder.DataSource = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, builder.DataSource));
        }

        // Writers wait for each other instead of failing with "database is locked".
        if (builder.DefaultTimeout < 30)
        {
            builder.DefaultTimeout = 30;
        }

        builder.Pooling = true;
        return builder.ToString();
    }

    private static void CheckFile(string path)
    {
        var name = Path.GetFileName(path);
        if (!File.Exists(path))
        {
            throw new ConfigurationProblemException($"{name}: not found at {path} (pass --config PATH or set CRM_CONFIG)");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            var line = e.LineNumber is { } l ? $" at line {l + 1}, position {e.BytePositionInLine + 1}" : "";
            throw new ConfigurationProblemException($"{name}: not valid JSON{line}");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ConfigurationProblemException($"{name}: must hold one JSON object");
            }

            CheckKeys(name, document.RootElement, "");
        }
    }

    private static void CheckKeys(string name, JsonElement element, string section)
    {
        var known = KnownKeys[section];
        foreach (var property in element.EnumerateObject())
        {
            var key = section.Length == 0 ? property.Name : $"{section}.{property.Name}";
            if (!known.Contains(property.Name, StringComparer.OrdinalIgnoreCase))
            {
                throw new ConfigurationProblemException($"{name}: {key}: unknown key (known here: {string.Join(", ", known)})");
            }

            if (KnownKeys.ContainsKey(key))
            {
                if (property.Value.ValueKind != JsonValueKind.Object)
                {
                    throw new ConfigurationProblemException($"{name}: {key}: must be an object");
                }

                CheckKeys(name, property.Value, key);
            }
        }
    }

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();

    private sealed class Reader(IConfiguration configuration, string fileName)
    {
        public ConfigurationProblemException Problem(string key, string problem) =>
            new($"{fileName}: {key.Replace(':', '.')}: {problem}");

        public string Required(string key)
        {
            var value = configuration[key];
            if (string.IsNullOrWhiteSpace(value))
            {
                throw Problem(key, "is missing");
            }

            return value.Trim();
        }

        public string Text(string key, string fallback)
        {
            var value = configuration[key];
            return string.IsNullOrWhiteSpace(value) ? fallback : value.Trim();
        }

        public string Identifier(string key)
        {
            var value = Required(key);
            if (value.Length > 100 || !value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                throw Problem(key, $"must be 1-100 letters, digits, '-', '_' or '.', got \"{value}\"");
            }

            return value;
        }

        public int Port(string key, int fallback)
        {
            var port = Number(key, fallback, 1, 65535);
            return port;
        }

        public int Number(string key, int fallback, int min, int max)
        {
            var value = configuration[key];
            if (string.IsNullOrWhiteSpace(value))
            {
                return fallback;
            }

            if (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) || number < min || number > max)
            {
                throw Problem(key, $"must be a whole number from {min} to {max}, got \"{value}\"");
            }

            return number;
        }

        public bool Flag(string key, bool fallback)
        {
            var value = configuration[key];
            if (string.IsNullOrWhiteSpace(value))
            {
                return fallback;
            }

            return bool.TryParse(value, out var flag) ? flag : throw Problem(key, $"must be true or false, got \"{value}\"");
        }

        public LogEventLevel Level(string key, LogEventLevel fallback)
        {
            var value = configuration[key];
            if (string.IsNullOrWhiteSpace(value))
            {
                return fallback;
            }

            return value.Trim().ToLowerInvariant() switch
            {
                "verbose" or "trace" => LogEventLevel.Verbose,
                "debug" => LogEventLevel.Debug,
                "information" or "info" => LogEventLevel.Information,
                "warning" or "warn" => LogEventLevel.Warning,
                "error" => LogEventLevel.Error,
                "fatal" or "critical" => LogEventLevel.Fatal,
                _ => throw Problem(key, $"must be one of Verbose, Debug, Information, Warning, Error, Fatal; got \"{value}\""),
            };
        }
    }
}

/// <summary>A configuration mistake, worded as the one line the process prints before it stops.</summary>
public sealed class ConfigurationProblemException(string message) : Exception(message);
