using System.Net;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Orleans.Configuration;
using Orleans.Dashboard;
using Orleans.Runtime;
using OrleansCrm.Customers;
using OrleansCrm.Gateway.Access;
using OrleansCrm.Gateway.Api;
using OrleansCrm.Gateway.Customers;
using OrleansCrm.Gateway.Decisions;
using OrleansCrm.Gateway.Campaigns;
using OrleansCrm.Gateway.Segments;
using OrleansCrm.Gateway.Health;
using OrleansCrm.Gateway.BulkImport;
using OrleansCrm.Hosting.Configuration;
using Serilog;

namespace OrleansCrm.Gateway.Hosting;

public static class GatewayExtensions
{
    /// <summary>
    /// Joins the cluster as an Orleans client, discovering silo gateways through the cluster's database.
    /// Used when the gateway runs in its own process; a silo that hosts the gateway uses its own client.
    /// </summary>
    public static IHostApplicationBuilder AddCrmClient(this IHostApplicationBuilder builder, CrmSettings settings)
    {
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = settings.ClusterId;
                o.ServiceId = settings.ServiceId;
            });
            client.UseAdoNetClustering(o =>
            {
                o.Invariant = settings.Storage.Invariant;
                o.ConnectionString = settings.Storage.ConnectionString;
            });
            client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(5));
            // A call to a silo that died waits this long, not Orleans' 30 s default (see docs/architecture.md).
            client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = settings.Gateway.CallTimeout);
            client.UseConnectionRetryFilter(RetryConnectingAsync);
            // While a dead silo is not yet declared dead, calls whose directory entry it held are rejected undelivered.
            client.AddOutgoingGrainCallFilter<UndeliveredCallRetry>();
            client.AddMemoryStreams(StorageNames.Streams);
            if (settings.Gateway.Dashboard)
            {
                client.AddDashboard();
            }
        });
        return builder;
    }

    /// <summary>Endpoints, problem details, OpenAPI and health checks; works over any IClusterClient in DI.</summary>
    public static WebApplicationBuilder AddCrmGateway(this WebApplicationBuilder builder, CrmSettings settings)
    {
        builder.WebHost.UseUrls(settings.Gateway.ListenUrls);
        builder.Services.AddSingleton(settings);
        // traceId is the request's correlation id (CorrelationMiddleware), the one its log lines carry.
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = ctx =>
        {
            ctx.ProblemDetails.Extensions["traceId"] = ctx.HttpContext.TraceIdentifier;
            if (ctx.ProblemDetails.Status == StatusCodes.Status415UnsupportedMediaType && !ctx.ProblemDetails.Extensions.ContainsKey("errors"))
            {
                // Routing's refusal names no field: name the header, and what to send instead.
                var sent = ctx.HttpContext.Request.ContentType is { Length: > 0 } type ? $"'{(type.Length <= 100 ? type : type[..100])}'" : "no Content-Type";
                ctx.ProblemDetails.Detail ??= $"This operation does not read {sent}; the contract (/openapi/v1.json) lists the media types each operation reads.";
                ctx.ProblemDetails.Extensions["errors"] = new Dictionary<string, string[]> { ["Content-Type"] = [$"{sent} is not a media type this operation reads"] };
            }
        });
        builder.Services.AddExceptionHandler<ClusterExceptionHandler>();
        builder.Services.AddOpenApi(OpenApiContract.Configure);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ImportRegistry>();
        builder.Services.AddSingleton<TokenService>();
        builder.Services.AddSingleton<ApiKeys>();
        builder.Services.AddSingleton<SignInThrottle>();
        builder.AddCrmMetrics();
        builder.Services.AddSingleton<AuditTrail>();
        builder.Services.AddHostedService(services => services.GetRequiredService<AuditTrail>());
        builder.Services.AddAuthentication(CrmPrincipal.Scheme)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, CrmAuthenticationHandler>(CrmPrincipal.Scheme, null);
        // Bodies are bounded (imports lift the limit for themselves, as they stream).
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 32L * 1024 * 1024);
        // Unreadable bodies reach ClusterExceptionHandler, which names the offending JSON path.
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.AddCrmHealthChecks();
        builder.Services.AddCrmRateLimits(settings.Gateway);
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.CamelCase;
            // Compile-time metadata for the answers first; types it does not list fall back to reflection.
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, OrleansCrm.Customers.CrmJson.Default);
        });
        return builder;
    }

    public static WebApplication MapCrmGateway(this WebApplication app, CrmSettings settings)
    {
        // The correlation id first, so every line logged for the request carries it; then the request log, so the
        // logged status is the one the caller received.
        app.UseMiddleware<CorrelationMiddleware>();
        app.UseMiddleware<BrowserDefenses>();
        app.UseSerilogRequestLogging(o =>
        {
            o.MessageTemplate = "HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.000} ms";
            o.GetLevel = (http, elapsedMs, error) => RequestLogLevel(http.Response.StatusCode, elapsedMs, error, settings.Log);
        });
        app.UseExceptionHandler();
        app.UseStatusCodePages();

        // The screens' static files are open and cheap (answered 304 when unchanged): served before authentication
        // and the request budget, so loading a screen neither checks the session nor spends a user's API requests.
        app.UseCrmScreens();
        app.UseAuthentication();

        // Budget next (per signed-in caller, else per address), so a refused request neither runs nor uses up an
        // idempotency key; then credentials and role; then Idempotency-Key for the requests that may run.
        app.UseRateLimiter();
        app.UseMiddleware<PathAccess>();
        app.UseMiddleware<IdempotencyMiddleware>();

        // Open: health, signing in, the API reference page (and the static screens).
        app.MapCrmHealth();
        app.MapSignInEndpoints();
        app.MapCrmApiReference();

        // Everything else passes the access filter: credentials, role, organisation unit, audit.
        app.MapOpenApi("/openapi/{documentName}.json");
        var api = app.MapGroup("").AddEndpointFilterFactory(AccessFilter.Create);
        api.MapAccessEndpoints();
        api.MapCustomerEndpoints();
        api.MapCustomerLiveEndpoint();
        api.MapPrivacyEndpoints();
        api.MapImportEndpoints();
        api.MapDecisionEndpoints();
        api.MapSegmentEndpoints();
        api.MapCampaignEndpoints();
        api.MapCapacityEndpoints();
        api.MapProspectEndpoints();
        AccessFilter.CheckPolicies(app);
        app.MapPrometheusScrapingEndpoint(Metrics.Path);
        if (settings.Gateway.Dashboard)
        {
            var dashboard = app.MapOrleansDashboard("/dashboard");
            if (settings.Gateway.DashboardPort != 0)
            {
                // Its own port, so operators can keep it off the network the API is published on.
                dashboard.RequireHost($"*:{settings.Gateway.DashboardPort}");
            }
        }

        return app;
    }

    /// <summary>
    /// The level of a request's log line. A line per request at Information cost more than the customer view itself at
    /// ten thousand requests a second, so by default only what an operator acts on is logged: failures (Error), requests
    /// slower than <c>log.slowRequestMs</c> (Warning) and refused or invalid requests (Information); the rest at Debug.
    /// <c>log.everyRequest</c> logs every request at Information.
    /// </summary>
    public static Serilog.Events.LogEventLevel RequestLogLevel(int status, double elapsedMs, Exception? error, LogSettings log) =>
        error is not null || status >= 500 ? Serilog.Events.LogEventLevel.Error
        : elapsedMs >= log.SlowRequestMs ? Serilog.Events.LogEventLevel.Warning
        : status >= 400 || log.EveryRequest ? Serilog.Events.LogEventLevel.Information
        : Serilog.Events.LogEventLevel.Debug;

    /// <summary>
    /// The web screens: the static files of <c>wwwroot</c> beside the binary (the build copies them into the gateway's
    /// and the silo's output), found from <see cref="AppContext.BaseDirectory"/> so any working folder works. Open to
    /// all; the screens call the API, which asks for the session. <c>/</c> serves <c>index.html</c>.
    /// </summary>
    public static WebApplication UseCrmScreens(this WebApplication app)
    {
        var root = Path.Combine(AppContext.BaseDirectory, "wwwroot");
        if (!Directory.Exists(root))
        {
            Log.Warning("No web screens: {WebRoot} does not exist", root);
            return app;
        }

        var files = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(root);
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            // Screens and modules change with each release; the browser asks again rather than run a stale copy.
            OnPrepareResponse = ctx => ctx.Context.Response.Headers.CacheControl = "no-cache",
        });
        return app;
    }

    private static async Task<bool> RetryConnectingAsync(Exception error, CancellationToken cancellation)
    {
        // The gateway may start before any silo; keep trying until a silo answers or the process is stopped.
        Log.Warning("No silo answered yet ({Reason}); retrying in 2 s", error.Message);
        await Task.Delay(TimeSpan.FromSeconds(2), cancellation);
        return true;
    }

    /// <summary>Turns cluster failures into problem details instead of bare 500s.</summary>
    internal sealed class ClusterExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
    {
        /// <summary>The status and title an exception from the cluster is answered with (also what the audit trail
        /// records for a change that failed this way).</summary>
        public static (int Status, string Title) Describe(Exception exception) => exception switch
        {
            CustomerNotFoundException => (StatusCodes.Status404NotFound, "Customer not found"),
            CustomerRuleException => (StatusCodes.Status400BadRequest, "The request breaks a rule of the customer"),
            OrleansCrm.Access.OutsideUnitException => (StatusCodes.Status403Forbidden, "Not allowed"),
            TimeoutException => (StatusCodes.Status504GatewayTimeout, "The cluster did not answer in time; the outcome is unknown"),
            SiloUnavailableException or OrleansMessageRejectionException or Orleans.Runtime.Messaging.ConnectionFailedException =>
                (StatusCodes.Status503ServiceUnavailable, "The cluster is unavailable; try again"),
            // Two activations of one customer met in storage (a silo died mid-write): nothing of this call was stored.
            Orleans.Storage.InconsistentStateException => (StatusCodes.Status503ServiceUnavailable, "The cluster is moving this customer; try again"),
            CustomerStorageException => (StatusCodes.Status503ServiceUnavailable, "The change could not be stored; retry it with the same event ids or Idempotency-Key"),
            System.Data.Common.DbException => (StatusCodes.Status503ServiceUnavailable, "The database could not be reached; try again"),
            BadHttpRequestException bad => (bad.StatusCode, "The request could not be read"),

            // Any body read through a LimitedStream that its endpoint did not catch: too large, not a server error.
            LimitedStream.TooLargeException => (StatusCodes.Status413PayloadTooLarge, "The body is larger than allowed"),
            _ => (StatusCodes.Status500InternalServerError, "An unexpected error occurred"),
        };

        public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
        {
            if (exception is CustomerNotFoundException notFound)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return await problems.TryWriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context,
                    ProblemDetails = new ProblemDetails { Status = 404, Title = Describe(notFound).Title, Detail = notFound.Message },
                });
            }

            if (exception is CustomerRuleException or OrleansCrm.Access.OutsideUnitException)
            {
                // A problem with one field: 400 for a rule of the customer, 403 for a unit the caller may not use.
                var (field, detail) = exception switch
                {
                    CustomerRuleException rule => (rule.Field, (string?)null),
                    OrleansCrm.Access.OutsideUnitException outside => (outside.Field, outside.Message),
                    _ => ("", null),
                };
                var (code, heading) = Describe(exception);
                context.Response.StatusCode = code;
                return await problems.TryWriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context,
                    ProblemDetails = new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [exception.Message] })
                    {
                        Status = code,
                        Title = heading,
                        Detail = detail,
                    },
                });
            }

            var (status, title) = Describe(exception);
            var details = new ProblemDetails { Status = status, Title = title };
            if (exception is BadHttpRequestException { InnerException: System.Text.Json.JsonException json })
            {
                var field = string.IsNullOrEmpty(json.Path) || json.Path == "$" ? "body" : json.Path.TrimStart('$', '.');
                details.Detail = $"The body is not valid JSON for this request at '{field}'.";
                details.Extensions["errors"] = new Dictionary<string, string[]> { [field] = ["could not be read as the expected type"] };
            }
            else if (exception is BadHttpRequestException bad2)
            {
                details.Detail = bad2.Message;
            }

            context.Response.StatusCode = status;
            if (status == StatusCodes.Status503ServiceUnavailable)
            {
                context.Response.Headers.RetryAfter = "1";
            }

            return await problems.TryWriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                Exception = exception,
                ProblemDetails = details,
            });
        }
    }
}
