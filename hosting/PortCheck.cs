using System.Net;
using System.Net.Sockets;
using OrleansCrm.Hosting.Configuration;

namespace OrleansCrm.Hosting;

/// <summary>
/// Checks the ports a process is about to use before anything starts. A second silo started on a port that a
/// running one holds would otherwise register in the membership table first (declaring the running silo dead)
/// and only then fail to bind.
/// </summary>
public static class PortCheck
{
    public static void EnsureSiloPortsFree(CrmSettings settings)
    {
        var address = settings.Silo.ListenOnAnyAddress ? IPAddress.Any : IPAddress.Parse(settings.Silo.AdvertisedAddress);
        EnsureFree("silo.siloPort", address, settings.Silo.SiloPort);
        EnsureFree("silo.gatewayPort", address, settings.Silo.GatewayPort);
        if (settings.Silo.MetricsPort != 0)
        {
            EnsureFree("silo.metricsPort", address, settings.Silo.MetricsPort);
        }
    }

    public static void EnsureHttpPortsFree(CrmSettings settings)
    {
        foreach (var url in settings.Gateway.ListenUrls)
        {
            // Kestrel accepts wildcard hosts that Uri does not; they listen on every address.
            var uri = new Uri(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal));
            var address = uri.Host switch
            {
                "localhost" => IPAddress.Loopback,
                _ when IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) => ip,
                _ => IPAddress.Any,
            };
            EnsureFree("gateway.urls", address, uri.Port);
        }
    }

    private static void EnsureFree(string key, IPAddress address, int port)
    {
        try
        {
            using var listener = new TcpListener(address, port);
            listener.Start();
            listener.Stop();
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            throw new StartupProblemException($"{key}: {address}:{port} is already in use (is another OrleansCrm process running with the same ports?)");
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressNotAvailable)
        {
            throw new StartupProblemException($"{key}: {address} is not an address of this machine");
        }
    }
}
