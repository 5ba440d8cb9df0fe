using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using OrleansCrm.Hosting.Configuration;

namespace OrleansCrm.Gateway.Api;

/// <summary>
/// Each caller's request budget (<c>gateway.requestsPerMinute</c>): a token bucket per principal name (per remote
/// address for callers without one) that holds a minute's budget and refills evenly. Over budget: 429 with a problem
/// document and <c>Retry-After</c>. Health probes are never limited. Buckets live in each gateway's memory, so a
/// cluster of N gateways admits up to N budgets per caller (a load balancer that keeps a caller on one gateway keeps
/// it to one).
/// </summary>
public static class RateLimits
{
    public static IServiceCollection AddCrmRateLimits(this IServiceCollection services, GatewaySettings settings)
    {
        var bucket = Bucket(settings.RequestsPerMinute);
        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
                context.Request.Path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase)
                    ? RateLimitPartition.GetNoLimiter("health")
                    : RateLimitPartition.GetTokenBucketLimiter(Partition(context), _ => bucket));
            o.OnRejected = (rejected, _) => RejectAsync(rejected, bucket);
        });
        return services;
    }

    /// <summary>A minute's budget as a burst, refilled in steps of at least one token at most once a second.</summary>
    public static TokenBucketRateLimiterOptions Bucket(int requestsPerMinute)
    {
        var perStep = Math.Max(1, requestsPerMinute / 60);
        return new TokenBucketRateLimiterOptions
        {
            TokenLimit = requestsPerMinute,
            TokensPerPeriod = perStep,
            ReplenishmentPeriod = TimeSpan.FromMinutes(1) * perStep / requestsPerMinute,
            QueueLimit = 0,
            AutoReplenishment = true,
        };
    }

    private static string Partition(HttpContext context) =>
        context.User.Identity?.Name is { Length: > 0 } name
            ? "user:" + name
            : "ip:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown");

    private static async ValueTask RejectAsync(OnRejectedContext rejected, TokenBucketRateLimiterOptions bucket)
    {
        var context = rejected.HttpContext;
        var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : bucket.ReplenishmentPeriod;
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        var problems = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status429TooManyRequests,
                Title = "Too many requests",
                Detail = $"This caller's budget of {bucket.TokenLimit} requests per minute is spent; retry after {seconds} s.",
            },
        });
    }
}
