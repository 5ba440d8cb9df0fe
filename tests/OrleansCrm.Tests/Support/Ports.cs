using System.Net;
using System.Net.Sockets;

namespace OrleansCrm.Tests.Support;

public static class Ports
{
    private static readonly HashSet<int> Handed = [];

    /// <summary>
    /// A loopback port nobody listens on now and that this test run has not handed out before. It is taken below the
    /// kernel's ephemeral range: a port the kernel hands out may meanwhile become the local end of some outgoing
    /// connection (a database client's, say), and the process the test starts could then not bind it.
    /// </summary>
    public static int Free()
    {
        var (low, high) = (15_000, EphemeralLow());
        lock (Handed)
        {
            while (true)
            {
                var port = high > low + 1_000 ? Random.Shared.Next(low, high) : 0;
                try
                {
                    using var listener = new TcpListener(IPAddress.Loopback, port);
                    listener.Start();
                    port = ((IPEndPoint)listener.LocalEndpoint).Port;
                    listener.Stop();
                }
                catch (SocketException)
                {
                    continue;
                }

                if (Handed.Add(port))
                {
                    return port;
                }
            }
        }
    }

    private static int EphemeralLow()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            return int.Parse(range[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 32_768;
        }
    }
}
