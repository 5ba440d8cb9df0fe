using System.Globalization;

namespace OrleansCrm.Bench;

/// <summary>The command line. Every option is <c>--name value</c> except the flags.</summary>
public sealed record BenchOptions(
    string Scenario,
    int Customers,
    int Seconds,
    int Concurrency,
    string? Postgres,
    int Samples,
    int Seed,
    int StepSeconds,
    int WarmUpSeconds,
    double ViewP99Ms,
    double IngestP99Ms,
    double EqualLoadShare,
    double Resolution,
    int Retries,
    bool WithSegmentsCampaign,
    string BaselineUrl,
    string? Target,
    [property: System.Text.Json.Serialization.JsonIgnore] string? Key,
    string ServiceId,
    string ClusterId,
    int? Silos,
    string? Out,
    string? Runs,
    bool WritesOnly = false)
{
    public static BenchOptions Parse(string[] args)
    {
        var known = new HashSet<string>(StringComparer.Ordinal)
        {
            "--scenario", "--customers", "--seconds", "--concurrency", "--postgres", "--samples", "--seed", "--step-seconds",
            "--warm-up-seconds", "--view-p99", "--ingest-p99", "--equal-load", "--resolution", "--retries", "--baseline-url", "--target",
            "--key", "--service-id", "--cluster-id", "--silos", "--out", "--runs",
        };
        var flags = new HashSet<string>(StringComparer.Ordinal) { "--with-segments-campaign", "--writes-only" };
        for (var i = 0; i < args.Length; i++)
        {
            if (flags.Contains(args[i]))
            {
                continue;
            }

            if (!known.Contains(args[i]) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"unknown option or missing value: {args[i]} (see bench/README.md)");
            }

            i++;
        }

        string? Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        int Number(string name, int fallback) => Value(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        double Real(string name, double fallback) => Value(name) is { } v ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;
        var scenario = Value("--scenario") ?? (Value("--target") is null ? "customer" : "target");
        return new BenchOptions(
            scenario,
            Number("--customers", scenario == "target" ? 20_000 : scenario == "suite" ? 100_000 : 20_000),
            Number("--seconds", scenario == "suite" ? 5 : 10),
            Number("--concurrency", 16),
            Value("--postgres"),
            Number("--samples", 5_000),
            Number("--seed", 42),
            Number("--step-seconds", 5),
            Number("--warm-up-seconds", 1),
            Real("--view-p99", 10),
            Real("--ingest-p99", 20),
            Real("--equal-load", 0.8),
            Real("--resolution", 0.1),
            Number("--retries", 1),
            args.Contains("--with-segments-campaign"),
            Value("--baseline-url") ?? "http://127.0.0.1:5098",
            Value("--target"),
            Value("--key"),
            Value("--service-id") ?? "orleans-crm",
            Value("--cluster-id") ?? "local-cluster",
            Value("--silos") is { } silos ? int.Parse(silos, CultureInfo.InvariantCulture) : null,
            Value("--out"),
            Value("--runs"),
            args.Contains("--writes-only"));
    }
}
