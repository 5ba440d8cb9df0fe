using System.Net;
using System.Net.Sockets;

namespace OrleansCrm.Tests.Support;

public static class Ports
{
    private static readonly HashSet<int> Handed = [];

    /// <summary>A loopback port nobody listens on now and that this test run has not handed out before.</summary>
    public static int Free()
    {
        lock (Handed)
        {
            while (true)
            {
                using var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                listener.Stop();
                if (Handed.Add(port))
                {
                    return port;
                }
            }
        }
    }
}
