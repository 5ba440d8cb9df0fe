using OrleansCrm.Gateway.Hosting;
using OrleansCrm.Hosting.Configuration;
using Serilog.Events;

namespace OrleansCrm.Tests.Gateway;

/// <summary>Which requests an operator sees in the log at the default level (Information).</summary>
public sealed class RequestLogTests
{
    private static readonly LogSettings Default = new(LogEventLevel.Information, LogEventLevel.Warning, Json: false);

    [Theory]
    [InlineData(200, 3.0, LogEventLevel.Debug)]
    [InlineData(304, 1.0, LogEventLevel.Debug)]
    [InlineData(200, 500.0, LogEventLevel.Warning)]
    [InlineData(404, 2.0, LogEventLevel.Information)]
    [InlineData(429, 0.5, LogEventLevel.Information)]
    [InlineData(503, 2.0, LogEventLevel.Error)]
    [InlineData(504, 10_000.0, LogEventLevel.Error)]
    public void Failures_slow_and_refused_requests_are_logged_and_the_rest_at_debug(int status, double elapsedMs, LogEventLevel expected) =>
        Assert.Equal(expected, GatewayExtensions.RequestLogLevel(status, elapsedMs, null, Default));

    [Fact]
    public void An_exception_is_an_error_and_every_request_can_be_asked_for()
    {
        Assert.Equal(LogEventLevel.Error, GatewayExtensions.RequestLogLevel(200, 1, new InvalidOperationException("x"), Default));
        Assert.Equal(LogEventLevel.Information, GatewayExtensions.RequestLogLevel(200, 1, null, Default with { EveryRequest = true }));
        Assert.Equal(LogEventLevel.Warning, GatewayExtensions.RequestLogLevel(200, 80, null, Default with { SlowRequestMs = 50 }));
    }
}
