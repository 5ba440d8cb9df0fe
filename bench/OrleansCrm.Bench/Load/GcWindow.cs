namespace OrleansCrm.Bench.Load;

/// <summary>The garbage collections of the bench process during a measurement: the CRM's silo, both HTTP tiers and
/// the generator share one heap, so a pause here delays requests to either system.</summary>
public sealed record GcFigures(double PauseMs, int Gen0, int Gen1, int Gen2);

public readonly struct GcWindow
{
    private readonly TimeSpan _pause;
    private readonly int _gen0;
    private readonly int _gen1;
    private readonly int _gen2;

    private GcWindow(TimeSpan pause, int gen0, int gen1, int gen2) => (_pause, _gen0, _gen1, _gen2) = (pause, gen0, gen1, gen2);

    public static GcWindow Start() => new(GC.GetTotalPauseDuration(), GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));

    public GcFigures Stop() => new(
        (GC.GetTotalPauseDuration() - _pause).TotalMilliseconds,
        GC.CollectionCount(0) - _gen0, GC.CollectionCount(1) - _gen1, GC.CollectionCount(2) - _gen2);
}
