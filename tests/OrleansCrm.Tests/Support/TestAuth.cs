namespace OrleansCrm.Tests.Support;

/// <summary>
/// How tests reach a gateway that admits nobody without credentials: every test process is configured with an
/// administrator key (<c>gateway.adminKey</c>, as an operator's provisioning automation would be), and the clients
/// tests make send it. Tests of access control itself make their own users and keys.
/// </summary>
public static class TestAuth
{
    /// <summary>The administrator key every test process is started with.</summary>
    public const string AdminKey = "test-admin-key-0123456789abcdef0123456789";

    /// <summary>An HTTP client that presents the administrator key on every request.</summary>
    public static HttpClient AdminClient(TimeSpan timeout, HttpMessageHandler? handler = null)
    {
        var http = handler is null ? new HttpClient() : new HttpClient(handler);
        http.Timeout = timeout;
        http.DefaultRequestHeaders.Add("X-Api-Key", AdminKey);
        return http;
    }
}
