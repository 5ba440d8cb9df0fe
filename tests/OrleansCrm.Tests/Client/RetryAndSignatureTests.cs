using System.Diagnostics;
using System.Net;
using System.Text;
using OrleansCrm.Campaigns;
using OrleansCrm.Client;

namespace OrleansCrm.Tests.Client;

/// <summary>
/// The client's hand-written handlers on their own (the gateway's side of the same promises is in
/// IntegratorClientTests and the idempotency tests): which requests get a key, which are retried and on what, with
/// which key and body, how long they wait, and what the caller sees at the end; and the webhook signature check.
/// </summary>
public sealed class RetryAndSignatureTests
{
    /// <summary>Answers each attempt from a script and remembers what it was sent (a unit test's stand-in for the network).</summary>
    private sealed class Scripted(params Func<HttpResponseMessage>[] answers) : HttpMessageHandler
    {
        public List<(HttpMethod Method, string Path, string? Key, string? Body)> Sent { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var key = request.Headers.TryGetValues(IdempotencyKeyHandler.Header, out var values) ? values.Single() : null;
            Sent.Add((request.Method, request.RequestUri!.AbsolutePath, key, request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken)));
            return answers[Math.Min(Sent.Count - 1, answers.Length - 1)]();
        }
    }

    private static readonly Uri Gateway = new("http://crm.test/");

    private static readonly CrmClientOptions Fast = new() { FirstRetryDelay = TimeSpan.FromMilliseconds(1), MaxRetryDelay = TimeSpan.FromSeconds(2), MaxRetries = 3 };

    private static HttpMessageInvoker Pipeline(Scripted network, Uri? gateway = null, CrmClientOptions? options = null)
    {
        var retry = new SafeRetryHandler(options ?? Fast, gateway ?? Gateway) { InnerHandler = network };
        return new HttpMessageInvoker(new IdempotencyKeyHandler(gateway ?? Gateway) { InnerHandler = retry });
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

    private static HttpRequestMessage Post(string path, string body, Uri? gateway = null) =>
        new(HttpMethod.Post, new Uri(gateway ?? Gateway, path)) { Content = new StringContent(body, Encoding.UTF8, "application/json") };

    [Fact]
    public async Task An_event_the_cluster_could_not_take_is_sent_again_with_the_same_body_until_it_is_answered()
    {
        var network = new Scripted(() => Status(HttpStatusCode.ServiceUnavailable), () => Status(HttpStatusCode.GatewayTimeout), () => Status(HttpStatusCode.OK));
        using var client = Pipeline(network);
        using var response = await client.SendAsync(Post("api/v1/customers/c1/events", """{"eventId":"e1"}"""), CancellationToken.None);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, network.Sent.Count);
        Assert.All(network.Sent, s => Assert.Equal("""{"eventId":"e1"}""", s.Body));
        // Its event id makes a repeat a duplicate: no key, so the gateway stores no copy of the answer.
        Assert.All(network.Sent, s => Assert.Null(s.Key));
    }

    [Fact]
    public async Task A_change_that_is_not_idempotent_by_content_gets_a_key_and_is_not_run_again_after_a_503_or_504()
    {
        var unavailable = new Scripted(() => Status(HttpStatusCode.ServiceUnavailable), () => Status(HttpStatusCode.OK));
        var timedOut = new Scripted(() => Status(HttpStatusCode.GatewayTimeout), () => Status(HttpStatusCode.OK));
        using (var client = Pipeline(unavailable))
        {
            using var response = await client.SendAsync(Post("api/v1/api-keys", """{"name":"k"}"""), CancellationToken.None);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        }

        using (var client = Pipeline(timedOut))
        {
            using var response = await client.SendAsync(Post("api/v1/customers/c1/merge", """{"otherCustomerId":"c2"}"""), CancellationToken.None);
            Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        }

        Assert.Single(unavailable.Sent);
        Assert.Matches("^[0-9a-f]{32}$", unavailable.Sent[0].Key);
        Assert.Single(timedOut.Sent);
    }

    [Fact]
    public async Task A_keyed_change_is_sent_again_after_a_failed_connection_and_while_its_first_attempt_still_runs()
    {
        var attempts = 0;
        var network = new Scripted(
            () => ++attempts == 1 ? throw new HttpRequestException("connection reset") : Status(HttpStatusCode.Conflict, TimeSpan.FromMilliseconds(5)),
            () => Status(HttpStatusCode.Conflict, TimeSpan.FromMilliseconds(5)),
            () => Status(HttpStatusCode.OK));
        var conflict = new Scripted(() => Status(HttpStatusCode.Conflict), () => Status(HttpStatusCode.OK));
        using var client = Pipeline(network);
        using var request = Post("api/v1/customers/c1/merge", """{"otherCustomerId":"c2"}""");
        request.Headers.Add(IdempotencyKeyHandler.Header, "my-own-key");
        using var response = await client.SendAsync(request, CancellationToken.None);
        using var other = Pipeline(conflict);
        using var refused = await other.SendAsync(Post("api/v1/campaigns/x/launch", "{}"), CancellationToken.None);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["my-own-key", "my-own-key", "my-own-key"], network.Sent.Select(s => s.Key));
        // A conflict without Retry-After (the campaign's state) is the caller's to handle.
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Single(conflict.Sent);
    }

    [Fact]
    public async Task A_refused_budget_is_waited_out_as_asked_and_a_wait_longer_than_allowed_goes_back_to_the_caller()
    {
        var budget = new Scripted(() => Status(HttpStatusCode.TooManyRequests, TimeSpan.FromSeconds(1)), () => Status(HttpStatusCode.OK));
        var longer = new Scripted(() => Status(HttpStatusCode.TooManyRequests, TimeSpan.FromSeconds(60)), () => Status(HttpStatusCode.OK));
        using var client = Pipeline(budget);
        var clock = Stopwatch.StartNew();
        using var signIn = await client.SendAsync(Post("api/v1/auth/token", """{"login":"a"}"""), CancellationToken.None);
        var waited = clock.Elapsed;
        using var patient = Pipeline(longer);
        using var tooLong = await patient.SendAsync(new HttpRequestMessage(HttpMethod.Get, new Uri(Gateway, "api/v1/customers/c1")), CancellationToken.None);

        Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        Assert.Equal(2, budget.Sent.Count);
        Assert.True(waited >= TimeSpan.FromSeconds(1), $"retried after {waited.TotalMilliseconds:0} ms, before Retry-After");
        Assert.All(budget.Sent, s => Assert.Null(s.Key));
        Assert.Equal(HttpStatusCode.TooManyRequests, tooLong.StatusCode);
        Assert.Single(longer.Sent);
    }

    [Fact]
    public async Task After_the_last_attempt_the_caller_gets_the_last_answer_and_a_body_of_unknown_length_goes_once()
    {
        var network = new Scripted(() => Status(HttpStatusCode.ServiceUnavailable));
        var stream = new Scripted(() => Status(HttpStatusCode.ServiceUnavailable));
        using var client = Pipeline(network);
        using var get = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, new Uri(Gateway, "api/v1/customers/c1")), CancellationToken.None);
        using var streaming = Pipeline(stream);
        using var file = new HttpRequestMessage(HttpMethod.Post, new Uri(Gateway, "api/v1/imports/customers"))
        {
            Content = new StreamContent(new UnknownLength(Encoding.UTF8.GetBytes("ID\nc1\n"))),
        };
        using var import = await streaming.SendAsync(file, CancellationToken.None);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, get.StatusCode);
        Assert.Equal(1 + Fast.MaxRetries, network.Sent.Count);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, import.StatusCode);
        Assert.Single(stream.Sent);
    }

    [Fact]
    public async Task Behind_a_path_prefix_changes_still_get_their_key()
    {
        var prefixed = new Uri("http://crm.test/crm/");
        var network = new Scripted(() => Status(HttpStatusCode.OK));
        using var client = Pipeline(network, prefixed);
        using var merge = await client.SendAsync(Post("api/v1/customers/c1/merge", "{}", prefixed), CancellationToken.None);
        using var put = await client.SendAsync(new HttpRequestMessage(HttpMethod.Put, new Uri(prefixed, "api/v1/customers/c1")) { Content = new StringContent("{}") }, CancellationToken.None);
        using var segment = await client.SendAsync(new HttpRequestMessage(HttpMethod.Put, new Uri(prefixed, "api/v1/segments/s1")) { Content = new StringContent("{}") }, CancellationToken.None);

        Assert.Equal("/crm/api/v1/customers/c1/merge", network.Sent[0].Path);
        Assert.NotNull(network.Sent[0].Key);
        Assert.NotNull(network.Sent[1].Key);
        Assert.Null(network.Sent[2].Key);
    }

    [Fact]
    public void A_signature_holds_for_its_body_and_secret_only_and_is_the_one_the_cluster_sends()
    {
        const string Body = """{"sequence":7,"customerId":"c1"}""";
        var body = Encoding.UTF8.GetBytes(Body);
        var signature = WebhookSignature.Compute("s3cret-s3cret-s3cret", body);

        Assert.Equal("sha256=" + WebhookDeliveryGrain.Sign("s3cret-s3cret-s3cret", Body), signature);
        Assert.True(WebhookSignature.IsValid("s3cret-s3cret-s3cret", body, signature));
        Assert.True(WebhookSignature.IsValid("s3cret-s3cret-s3cret", body, "sha256=" + signature["sha256=".Length..].ToUpperInvariant()));
        Assert.False(WebhookSignature.IsValid("other-other-other-1", body, signature));
        Assert.False(WebhookSignature.IsValid("s3cret-s3cret-s3cret", [.. body, (byte)' '], signature));
        Assert.False(WebhookSignature.IsValid("s3cret-s3cret-s3cret", body, "SHA256=" + signature["sha256=".Length..]));
        Assert.False(WebhookSignature.IsValid("s3cret-s3cret-s3cret", body, signature[..^2]));
        Assert.False(WebhookSignature.IsValid("s3cret-s3cret-s3cret", body, null));
        Assert.False(WebhookSignature.IsValid("s3cret-s3cret-s3cret", body, "sha256=" + new string('z', 64)));
    }

    /// <summary>A stream that cannot tell its length (a pipe, a socket), so its content has none.</summary>
    private sealed class UnknownLength(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
