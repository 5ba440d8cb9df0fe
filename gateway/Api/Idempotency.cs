using System.Security.Cryptography;
using Microsoft.AspNetCore.Mvc;
using OrleansCrm.Api;

namespace OrleansCrm.Gateway.Api;

/// <summary>
/// <c>Idempotency-Key</c> on every POST under <c>/api/v1</c>: the first answer to a key (status, content type, body)
/// is kept for 24 hours per caller and key in an <see cref="IIdempotencyGrain"/>, so any gateway of the cluster
/// replays it (header <c>Idempotent-Replayed: true</c>) without running the request again. A repeat with another
/// body is 422, a repeat while the first still runs is 409. Answers of 500 and above are not kept (their outcome is
/// unknown), nor answers larger than <see cref="MaxKeptBody"/>: the key is released and a retry runs again. Signing
/// in (<c>/api/v1/auth</c>) is left out: its answer is a token.
/// </summary>
public sealed class IdempotencyMiddleware(RequestDelegate next, IClusterClient cluster, ILogger<IdempotencyMiddleware> logger)
{
    public const string Header = "Idempotency-Key";
    public const string ReplayedHeader = "Idempotent-Replayed";
    public const int MaxKeyLength = 200;
    public const int MaxKeptBody = 1024 * 1024;

    /// <summary>Whether this middleware keeps the answer of <paramref name="request"/>: a request it applies to
    /// (<see cref="AppliesTo"/>) that carries an Idempotency-Key and reached an API endpoint. Routing's own refusals
    /// (415, 405: an endpoint without a name) are not kept, so a corrected retry runs.</summary>
    public static bool Keeps(HttpRequest request) =>
        request.Headers.ContainsKey(Header)
        && AppliesTo(request.Method, request.Path)
        && request.HttpContext.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>() is not null;

    /// <summary>The requests whose answers are kept under a key (and so the operations the contract gives the header):
    /// POSTs under /api/v1, except signing in (its answer is a credential, which must not rest in grain state).</summary>
    public static bool AppliesTo(string method, PathString path) =>
        HttpMethods.IsPost(method)
        && path.StartsWithSegments("/api/v1", StringComparison.OrdinalIgnoreCase)
        && !path.StartsWithSegments("/api/v1/auth", StringComparison.OrdinalIgnoreCase);

    public async Task InvokeAsync(HttpContext context)
    {
        if (!Keeps(context.Request))
        {
            await next(context);
            return;
        }

        var values = context.Request.Headers[Header];
        var key = values.Count == 1 ? values[0] : null;
        if (!IsValidKey(key))
        {
            await WriteProblemAsync(context, StatusCodes.Status400BadRequest, "The Idempotency-Key header is not valid",
                $"{Header} must be one value of 1-{MaxKeyLength} printable ASCII characters.", field: Header);
            return;
        }

        var principal = context.User.Identity?.Name is { Length: > 0 } name ? name : "anonymous";
        var grain = cluster.GetGrain<IIdempotencyGrain>(IdempotencyKeys.GrainKey(principal, key!));
        var claim = await grain.BeginAsync();
        switch (claim.Status)
        {
            case IdempotencyStatus.Running:
                // Retry-After tells a client this conflict passes by itself (the first attempt's answer will be kept).
                context.Response.Headers.RetryAfter = "1";
                await WriteProblemAsync(context, StatusCodes.Status409Conflict, "A request with this Idempotency-Key is still running",
                    "Retry after the first request has been answered; the repeat then receives its answer.", field: null);
                return;
            case IdempotencyStatus.Completed:
                await ReplayAsync(context, claim);
                return;
        }

        await RunAndKeepAsync(context, grain, claim.Attempt);
    }

    /// <summary>1-200 characters, each printable ASCII (space to tilde).</summary>
    public static bool IsValidKey(string? key) =>
        key is { Length: > 0 and <= MaxKeyLength } && key.All(c => c is >= ' ' and <= '~');

    /// <summary>A hash of the request a key names: its method, path and query, then its body (appended as it is read).
    /// A key sent again on another endpoint is then "a different request" (422), never a replay of the first answer.</summary>
    private static IncrementalHash RequestHash(HttpContext context)
    {
        var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes($"{context.Request.Method} {context.Request.Path}{context.Request.QueryString}\n"));
        return hash;
    }

    private async Task RunAndKeepAsync(HttpContext context, IIdempotencyGrain grain, Guid attempt)
    {
        using var hash = RequestHash(context);
        var requestBody = context.Request.Body;
        var responseBody = context.Response.Body;
        var hashing = new HashingStream(requestBody, hash);
        var capture = new CaptureStream(responseBody, MaxKeptBody);
        context.Request.Body = hashing;
        context.Response.Body = capture;
        var kept = false;
        try
        {
            await next(context);
            if (context.Response.StatusCode < 500 && !capture.Overflowed)
            {
                // The hash covers the whole body even when the endpoint stopped reading early; a body that cannot be
                // read to its end (too large, the caller went away) leaves nothing kept.
                try
                {
                    await hashing.DrainAsync(context.RequestAborted);
                }
                catch (Exception e) when (e is BadHttpRequestException or IOException or OperationCanceledException)
                {
                    return;
                }

                var response = new KeptResponse(context.Response.StatusCode, context.Response.ContentType, capture.Captured);
                await grain.CompleteAsync(attempt, Convert.ToHexString(hash.GetHashAndReset()), response, KeptAnswerSubjects.Of(context));
                kept = true;
            }
        }
        finally
        {
            context.Request.Body = requestBody;
            context.Response.Body = responseBody;
            if (!kept)
            {
                try
                {
                    await grain.ReleaseAsync(attempt);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // The claim lapses by itself after IdempotencyKeys.AbandonedAfter.
                    logger.LogWarning(e, "Idempotency key not released for {Path}", context.Request.Path);
                }
            }
        }
    }

    private static async Task ReplayAsync(HttpContext context, IdempotencyClaim claim)
    {
        using var hash = RequestHash(context);
        await new HashingStream(context.Request.Body, hash).DrainAsync(context.RequestAborted);
        if (!string.Equals(Convert.ToHexString(hash.GetHashAndReset()), claim.RequestHash, StringComparison.Ordinal))
        {
            await WriteProblemAsync(context, StatusCodes.Status422UnprocessableEntity, "The Idempotency-Key was used with a different request",
                "A key names one request (method, path, query and body): send a new key for a different request.", field: Header);
            return;
        }

        var kept = claim.Response!;
        context.Response.StatusCode = kept.StatusCode;
        if (kept.ContentType is not null)
        {
            context.Response.ContentType = kept.ContentType;
        }

        context.Response.Headers[ReplayedHeader] = "true";
        context.Response.ContentLength = kept.Body.Length;
        await context.Response.Body.WriteAsync(kept.Body, context.RequestAborted);
    }

    private static async Task WriteProblemAsync(HttpContext context, int status, string title, string detail, string? field)
    {
        var problem = new ProblemDetails { Status = status, Title = title, Detail = detail };
        if (field is not null)
        {
            problem.Extensions["errors"] = new Dictionary<string, string[]> { [field] = [detail] };
        }

        context.Response.StatusCode = status;
        var problems = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        await problems.WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem });
    }

    /// <summary>Passes the request body through, adding every byte read to a hash.</summary>
    private sealed class HashingStream(Stream inner, IncrementalHash hash) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Add(buffer.AsSpan(offset, inner.Read(buffer, offset, count)));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await inner.ReadAsync(buffer, cancellationToken);
            return Add(buffer.Span[..n]);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public async Task DrainAsync(CancellationToken cancellation)
        {
            var buffer = new byte[16 * 1024];
            while (await ReadAsync(buffer, cancellation) > 0)
            {
            }
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Add(ReadOnlySpan<byte> read)
        {
            hash.AppendData(read);
            return read.Length;
        }
    }

    /// <summary>Passes the response body through and keeps a copy of up to a limit.</summary>
    private sealed class CaptureStream(Stream inner, int limit) : Stream
    {
        private readonly MemoryStream _copy = new();

        public bool Overflowed { get; private set; }

        public byte[] Captured => _copy.ToArray();

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count)
        {
            Keep(buffer.AsSpan(offset, count));
            inner.Write(buffer, offset, count);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Keep(buffer.Span);
            await inner.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _copy.Dispose();
            }

            base.Dispose(disposing);
        }

        private void Keep(ReadOnlySpan<byte> bytes)
        {
            if (Overflowed)
            {
                return;
            }

            if (_copy.Length + bytes.Length > limit)
            {
                Overflowed = true;
                _copy.SetLength(0);
                return;
            }

            _copy.Write(bytes);
        }
    }
}

/// <summary>The customers a request's answer is about (the customer its route names, a merge's other customer), noted
/// by the access filter: a kept answer about them is forgotten when one of them is erased (docs/privacy.md).</summary>
public static class KeptAnswerSubjects
{
    private static readonly object Key = new();

    public static void Add(HttpContext context, string customerId)
    {
        if (context.Items[Key] is not HashSet<string> ids)
        {
            context.Items[Key] = ids = new HashSet<string>(StringComparer.Ordinal);
        }

        ids.Add(customerId);
    }

    public static string[] Of(HttpContext context) => context.Items[Key] is HashSet<string> ids ? [.. ids] : [];
}
