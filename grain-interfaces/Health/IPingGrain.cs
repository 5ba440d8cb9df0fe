namespace OrleansCrm.Health;

/// <summary>A stateless round trip into the cluster; the gateway's readiness check calls it.</summary>
[Alias("crm.IPingGrain")]
public interface IPingGrain : IGrainWithIntegerKey
{
    /// <summary>Answers with the address of the silo that served the call.</summary>
    [Alias("Ping")]
    Task<string> PingAsync();
}
