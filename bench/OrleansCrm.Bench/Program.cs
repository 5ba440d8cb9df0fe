using System.Runtime.InteropServices;
using OrleansCrm.Bench.ScaleOut;
using OrleansCrm.Bench.Suite;

namespace OrleansCrm.Bench;

/// <summary>
/// <c>dotnet run -c Release --project bench/OrleansCrm.Bench -- --scenario NAME [options]</c>; bench/README.md lists
/// the scenarios and options. Results are printed and written to bench/results/.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var options = BenchOptions.Parse(args);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupted);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupted);
        return options.Scenario switch
        {
            "suite" => await SuiteBench.RunAsync(options),
            "target" => await TargetBench.RunAsync(options),
            "scale-out-report" => await ScaleOutReport.WriteAsync(options),
            "segments" or "campaign" => await RunSegmentsOrCampaignAsync(options),
            "customer" => await CustomerBench.RunAsync(options),
            _ => throw new ArgumentException($"unknown scenario \"{options.Scenario}\": suite, target, scale-out-report, segments, campaign or customer"),
        };
    }

    /// <summary>A run stopped midway drops the databases it made, then exits.</summary>
    private static void Interrupted(PosixSignalContext context)
    {
        context.Cancel = true;
        BenchNode.DropLiveDatabases();
        Environment.Exit(130);
    }

    private static async Task<int> RunSegmentsOrCampaignAsync(BenchOptions options)
    {
        await using var node = await BenchNode.StartAsync(options.Postgres, options.Concurrency);
        var markdown = options.Scenario == "campaign"
            ? (await CampaignBench.RunAsync(node, options.Customers)).Markdown
            : (await SegmentBench.RunAsync(node, options.Customers, options.Samples, options.Concurrency)).Markdown;
        Console.WriteLine(markdown);
        await Results.WriteAsync($"{options.Scenario}-{node.Storage.Kind.ToString().ToLowerInvariant()}-{Results.Stamp(DateTimeOffset.UtcNow)}", markdown);
        return 0;
    }
}
