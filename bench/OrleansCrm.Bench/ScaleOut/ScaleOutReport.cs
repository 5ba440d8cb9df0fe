using System.Globalization;
using System.Text;
using System.Text.Json;

namespace OrleansCrm.Bench.ScaleOut;

public sealed record ScaleOutRow(int Silos, double ViewPerSecond, double ViewP99Ms, double ViewEfficiency, double IngestPerSecond, double IngestP99Ms, double IngestEfficiency, bool Correct, TargetFigures Run);

public sealed record ScaleOutFigures(string Kind, DateTimeOffset WrittenAt, string Machine, int Cores, bool SpeedUpMeaningful, IReadOnlyList<ScaleOutRow> Runs);

/// <summary>
/// <c>--scenario scale-out-report --runs FOLDER</c>: gathers the JSON of the <c>--target</c> runs in FOLDER (one per
/// silo count, written by bench/scale-out.sh) into bench/results/scale-out-&lt;date&gt;.md and .json. Scaling efficiency
/// is throughput with N silos ÷ (N × throughput with the fewest silos).
/// </summary>
public static class ScaleOutReport
{
    /// <summary>Below this many cores the silos, gateway, database and generator cannot each have one, and the
    /// figures say nothing about speed-up.</summary>
    private const int CoresForSpeedUp = 8;

    public static async Task<int> WriteAsync(BenchOptions options)
    {
        var folder = options.Runs ?? throw new ArgumentException("--runs FOLDER (holding the --target runs' JSON) is required");
        var runs = new List<TargetFigures>();
        foreach (var file in Directory.GetFiles(folder, "*.json"))
        {
            runs.Add(JsonSerializer.Deserialize<TargetFigures>(await File.ReadAllTextAsync(file), Results.Json)!);
        }

        if (runs.Count == 0)
        {
            throw new InvalidOperationException($"no run results in {folder}");
        }

        runs.Sort((a, b) => a.ActiveSilos.CompareTo(b.ActiveSilos));
        var first = runs[0];
        double Efficiency(double value, double reference, int silos) => reference > 0 ? value / reference / silos * first.ActiveSilos : 0;
        var rows = runs.Select(r => new ScaleOutRow(
            r.ActiveSilos, r.View.Throughput, r.View.Latency.P99, Efficiency(r.View.Throughput, first.View.Throughput, r.ActiveSilos),
            r.Ingest.Throughput, r.Ingest.Latency.P99, Efficiency(r.Ingest.Throughput, first.Ingest.Throughput, r.ActiveSilos), r.Correct, r)).ToList();
        var cores = Environment.ProcessorCount;
        var figures = new ScaleOutFigures("scale-out", DateTimeOffset.UtcNow, first.Machine, cores, cores >= CoresForSpeedUp, rows);

        var sb = new StringBuilder();
        void Line(FormattableString text) => sb.AppendLine(text.ToString(CultureInfo.InvariantCulture));
        Line($"# Scale-out: view and ingest with {string.Join(", ", rows.Select(r => r.Silos))} silos — {figures.WrittenAt.UtcDateTime:yyyy-MM-dd HH:mm} UTC");
        sb.AppendLine();
        Line($"Machine: {first.Machine}. PostgreSQL: {first.Database}. Each cluster started by `scripts/cluster.sh N` (a private PostgreSQL, N silo processes and one gateway process, Release build), {first.Customers:N0} customers seeded into its log by COPY and each woken once over HTTP; then {first.Concurrency} closed-loop callers for {first.View.Seconds:0} s per scenario through the gateway (`bench/scale-out.sh`).");
        sb.AppendLine();
        if (!figures.SpeedUpMeaningful)
        {
            Line($"**This machine has {cores} cores.** The silos, the gateway, PostgreSQL and the load generator share them, so adding silos adds processes competing for the same cores: these figures show correctness (every request succeeded, every silo took part), not speed-up. Efficiency below 1 here is the cost of more processes on the same cores, and says nothing about what more machines would give.");
            sb.AppendLine();
        }

        sb.AppendLine("| silos | view | view p99 | view efficiency | ingest | ingest p99 | ingest efficiency | errors | customers per silo | first wake | correct |");
        sb.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|");
        foreach (var r in rows)
        {
            Line($"| {r.Silos} | {r.ViewPerSecond:N0}/s | {r.ViewP99Ms:0.00} ms | {r.ViewEfficiency * 100:0}% | {r.IngestPerSecond:N0}/s | {r.IngestP99Ms:0.00} ms | {r.IngestEfficiency * 100:0}% | {r.Run.View.Errors + r.Run.Ingest.Errors} | {string.Join(" / ", r.Run.CustomerActivationsBySilo.Values.Select(v => v.ToString("N0", CultureInfo.InvariantCulture)))} | {r.Run.WakesPerSecond:N0}/s | {(r.Correct ? "yes" : "**no**")} |");
        }

        sb.AppendLine();
        sb.AppendLine("Correct: every view, ingest and first-wake request answered with success, the cluster reported the expected number of active silos, and every one of them hosted customers (placement spreads customers over all silos).");
        var name = $"scale-out-{Results.Stamp(figures.WrittenAt)}";
        Console.WriteLine(sb.ToString());
        await Results.WriteAsync(name, sb.ToString(), figures);
        return rows.All(r => r.Correct) ? 0 : 1;
    }
}
