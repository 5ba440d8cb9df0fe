using System.Net;
using System.Text;
using OrleansCrm.Client;

namespace OrleansCrm.Tests.Client;

/// <summary>
/// The client's hand-written handlers on their own (the gateway's side of the same promises is in
/// IntegratorClientTests and the idempotency tests): which requests are retried, with which key and body, how long
/// they wait, and what the caller sees at the end; and the webhook signature check.
/// </summary>
public sealed class RetryAndSignatureTests
{
    /// <summary>Answers each attempt from a script and remembers what it was sent (a unit test's stand-in for the network).</summary>
    private sealed class Scripted(params Func<HttpResponseMessage>[] answers) : HttpMessageHandler
    {
        public List<(HttpMethod Method, string? Key, string? Body)> Sent { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var key = request.Headers.TryGetValues(IdempotencyKeyHandler.Header, out var values) ? values.Single() : null;
            Sent.Add((request.Method, key, request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken)));
            return answers[Math.Min(Sent.Count - 1, answers.Length - 1)]();
        }
    }

    private static readonly CrmClientOptions Fast = new() { FirstRetryDelay = TimeSpan.FromMilliseconds(1), MaxRetryDelay = TimeSpan.FromMilliseconds(50), MaxRetries = 3 };

    private static HttpMessageInvoker Pipeline(Scripted network, bool keys = true, CrmClientOptions? options = null)
    {
        var retry = new SafeRetryHandler(options ?? Fast) { InnerHandler = network };
        return new HttpMessageInvoker(keys ? new IdempotencyKeyHandler { InnerHandler = retry } : retry);
    }

    private static HttpResponseMessage Status(HttpStatusCode code, TimeSpan? retryAfter = null)
    {
        var response = new HttpResponseMessage(code);
        if (retryAfter is { } after)
        {
            response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(after);
        }

        return response;
    }

    private static HttpRequestMessage Post(string path, string body) =>
        new(HttpMethod.Post, new Uri("http://crm.test" + path)) { Content = new StringContent(body, Encoding.UTF8, "application/json") };

    [Fact]
    public async Task A_post_the_cluster_could_not_take_is_sent_again_with_the_same_key_and_body_until_it_is_answered()
    {
        var network = new Scripted(() => Status(HttpStatusCode.ServiceUnavailable), () => Status(HttpStatusCode.GatewayTimeout), () => Status(HttpStatusCode.OK));
        using var client = Pipeline(network);
        using var response = await client.SendAsync(Post("/api/v1/customers/c1/events", """{"eventId":"e1"}"""), CancellationToken.None);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, network.Sent.Count);
        Assert.Single(network.Sent.Select(s => s.Key).Distinct());
        Assert.Matches("^[0-9a-f]{32}$", network.Sent[0].Key);
        Assert.All(network.Sent, s => Assert.Equal("""{"eventId":"e1"}""", s.Body));
    }

    [Fact]
    public async Task A_post_without_a_key_is_sent_once_and_a_refused_request_is_not_retried()
    {
        var unavailable = new Scripted(() => Status(HttpStatusCode.ServiceUnavailable));
        using (var bare = Pipeline(unavailable, keys: false))
        {
            using var response = await bare.SendAsync(Post("/api/v1/events", "{}"), CancellationToken.None);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        }

        var invalid = new Scripted(() => Status(HttpStatusCode.BadRequest));
        using (var client = Pipeline(invalid))
        {
            using var response = await client.SendAsync(Post("/api/v1/events", "{}"), CancellationToken.None);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        Assert.Single(unavailable.Sent);
        Assert.Null(unavailable.Sent[0].Key);
        Assert.Single(invalid.Sent);
    }

    [Fact]
    public async Task After_the_last_attempt_the_caller_gets_the_last_answer_and_signing_in_gets_no_key()
    {
        var network = new Scripted(() => Status(HttpStatusCode.TooManyRequests, TimeSpan.FromMilliseconds(10)));
        using var client = Pipeline(network);
        using var response = await client.SendAsync(Post("/api/v1/auth/token", """{"login":"a"}"""), CancellationToken.None);
        using var get = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "http://crm.test/api/v1/customers/c1"), CancellationToken.None);

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Single(network.Sent, s => s.Method == HttpMethod.Post);
        Assert.Null(network.Sent[0].Key);
        Assert.Equal(1 + Fast.MaxRetries, network.Sent.Count(s => s.Method == HttpMethod.Get));
        Assert.Equal(HttpStatusCode.TooManyRequests, get.StatusCode);
    }

    [Fact]
    public async Task A_key_the_caller_chose_is_kept_and_a_failed_connection_is_tried_again()
    {
        var attempts = 0;
        var network = new Scripted(() => ++attempts == 1 ? throw new HttpRequestException("connection refused") : Status(HttpStatusCode.OK));
        using var client = Pipeline(network);
        using var request = Post("/api/v1/customers/c1/merge", """{"otherCustomerId":"c2"}""");
        request.Headers.Add(IdempotencyKeyHandler.Header, "my-own-key");
        using var response = await client.SendAsync(request, CancellationToken.None);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["my-own-key", "my-own-key"], network.Sent.Select(s => s.Key));
        Assert.Equal(2, attempts);
    }

    [Fact]
    public void A_signature_holds_for_its_body_and_secret_only()
    {
        var body = Encoding.UTF8.GetBytes("""{"sequence":7,"customerId":"c1"}""");
        var signature = WebhookSignature.Compute("s3cret", body);

        Assert.Matches("^sha256=[0-9a-f]{64}$", signature);
        Assert.True(WebhookSignature.IsValid("s3cret", body, signature));
        Assert.False(WebhookSignature.IsValid("other", body, signature));
        Assert.False(WebhookSignature.IsValid("s3cret", [.. body, (byte)' '], signature));
        Assert.False(WebhookSignature.IsValid("s3cret", body, signature.ToUpperInvariant()));
        Assert.False(WebhookSignature.IsValid("s3cret", body, signature[..^2]));
        Assert.False(WebhookSignature.IsValid("s3cret", body, null));
        Assert.False(WebhookSignature.IsValid("s3cret", body, "sha256=" + new string('z', 64)));
    }
}
