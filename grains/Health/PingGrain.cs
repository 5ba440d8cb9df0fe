using Orleans.Concurrency;

namespace OrleansCrm.Health;

[GrainType("ping"), StatelessWorker]
public sealed class PingGrain : Grain, IPingGrain
{
    public Task<string> PingAsync() => Task.FromResult(RuntimeIdentity);
}
