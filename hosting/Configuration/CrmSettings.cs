namespace OrleansCrm.Hosting.Configuration;

/// <summary>Where grain state, reminders and cluster membership live.</summary>
public enum StorageKind
{
    Sqlite,
    Postgres,
}

/// <summary>
/// The validated content of <c>cluster.json</c> (after environment variables and command-line overrides).
/// Built only by <see cref="CrmConfiguration"/>, so every instance has passed validation.
/// </summary>
public sealed record CrmSettings(
    string ClusterId,
    string ServiceId,
    StorageSettings Storage,
    SiloSettings Silo,
    GatewaySettings Gateway,
    LogSettings Log,
    string ConfigPath);

public sealed record StorageSettings(StorageKind Kind, string ConnectionString)
{
    /// <summary>The ADO.NET invariant name the Orleans providers expect for this storage kind.</summary>
    public string Invariant => Kind switch
    {
        // Orleans maps this invariant to Microsoft.Data.Sqlite's factory.
        StorageKind.Sqlite => "System.Data.SQLite",
        StorageKind.Postgres => "Npgsql",
        _ => throw new InvalidOperationException($"Unknown storage kind {Kind}"),
    };
}

/// <summary>A silo's endpoints. <paramref name="MetricsPort"/>: where a silo that does not host the gateway serves
/// <c>/metrics</c> for Prometheus (on the same address as its silo port), or 0 for none; a silo that hosts the gateway
/// serves them with the API. <paramref name="ProbeTimeout"/>: the initial timeout and period of the liveness probes
/// silos send each other; a crashed silo is declared dead after about three missed probes (docs/operations.md).</summary>
public sealed record SiloSettings(
    string AdvertisedAddress,
    int SiloPort,
    int GatewayPort,
    bool ListenOnAnyAddress,
    bool HostGateway,
    int MetricsPort = 0,
    TimeSpan? ProbeTimeout = null)
{
    public static readonly TimeSpan DefaultProbeTimeout = TimeSpan.FromSeconds(2);

    public TimeSpan Probe => ProbeTimeout ?? DefaultProbeTimeout;
}

/// <summary>The HTTP gateway. <paramref name="AdminKey"/>: an administrator API key given by configuration (for
/// automation that provisions a fresh cluster; best set through <c>CRM_GATEWAY__ADMINKEY</c>), or null.
/// <paramref name="RequestsPerMinute"/>: each user's or key's budget before 429. <paramref name="DashboardPort"/>: a port of
/// its own for the Orleans dashboard (on the first URL's address), or 0 to serve it with the API.</summary>
public sealed record GatewaySettings(
    string Urls,
    TimeSpan CallTimeout,
    bool Dashboard,
    string? AdminKey = null,
    int RequestsPerMinute = 6000,
    TimeSpan? TokenLifetime = null,
    int DashboardPort = 0)
{
    public TimeSpan TokenTtl => TokenLifetime ?? TimeSpan.FromHours(1);

    /// <summary>Where the dashboard listens when it has a port of its own: the first URL with that port.</summary>
    public string? DashboardUrl => DashboardPort == 0
        ? null
        : System.Text.RegularExpressions.Regex.Replace(
            Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0].TrimEnd('/'),
            @":\d+$",
            ":" + DashboardPort.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Every URL the gateway listens on: the API's, and the dashboard's own when it has one.</summary>
    public string[] ListenUrls => [.. Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), .. DashboardUrl is { } d ? new[] { d } : []];
}

/// <summary>Logging. <paramref name="EveryRequest"/>: one line per HTTP request at Information (false: only refusals,
/// failures and requests slower than <paramref name="SlowRequestMs"/>; the others at Debug).</summary>
public sealed record LogSettings(Serilog.Events.LogEventLevel Level, Serilog.Events.LogEventLevel OrleansLevel, bool Json, bool EveryRequest = false, int SlowRequestMs = 500);
