using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;

namespace OrleansCrm.Gateway.Hosting;

/// <summary>RFC 7807 answers the endpoints share, and the JSON options they read bodies with.</summary>
public static class Problems
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static ValidationProblem Invalid(string field, string problem) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [problem] });

    public static ProblemHttpResult CustomerNotFound(string customerId) =>
        TypedResults.Problem(title: "Customer not found", statusCode: StatusCodes.Status404NotFound, detail: $"No customer with id '{customerId}' was recorded.");

    /// <summary>The JSON path a deserialisation error points at, as a field name ("data.amount"), or "body".</summary>
    public static string JsonField(JsonException e) =>
        string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "body" : e.Path.TrimStart('$', '.');
}

/// <summary>Reads at most a set number of bytes from a request body, so an oversized body is refused without
/// being buffered whole.</summary>
public sealed class LimitedStream(Stream inner, long limit) : Stream
{
    private long _read;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _read; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Count(await inner.ReadAsync(buffer, cancellationToken));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private int Count(int n)
    {
        _read += n;
        return _read > limit ? throw new TooLargeException() : n;
    }

    public sealed class TooLargeException : Exception
    {
        public TooLargeException()
            : base("The body is larger than allowed.")
        {
        }

        public TooLargeException(string message)
            : base(message)
        {
        }

        public TooLargeException(string message, Exception inner)
            : base(message, inner)
        {
        }
    }
}
