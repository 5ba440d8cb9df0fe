using System.Security.Cryptography;
using System.Text;
using Microsoft.Kiota.Serialization.Json;
using OrleansCrm.Client.Generated.Models;

namespace OrleansCrm.Client;

/// <summary>
/// Checks a webhook delivery (the contract's <c>webhooks.campaignAction</c>): <c>X-Crm-Signature</c> is
/// <c>sha256=</c> and the lower-case hex HMAC-SHA256 of the body's bytes, keyed with the webhook's secret. Check the
/// bytes as received, before parsing them.
/// </summary>
public static class WebhookSignature
{
    public const string Header = "X-Crm-Signature";
    private const string Prefix = "sha256=";

    /// <summary>The header value the cluster sends for <paramref name="body"/>.</summary>
    public static string Compute(string secret, ReadOnlySpan<byte> body) =>
        Prefix + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    /// <summary>Whether <paramref name="signature"/> (the header's value) signs <paramref name="body"/> with
    /// <paramref name="secret"/>; compared in constant time. The hex digits may be in either case (the cluster sends
    /// lower case).</summary>
    public static bool IsValid(string secret, ReadOnlySpan<byte> body, string? signature)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (signature is null || !signature.StartsWith(Prefix, StringComparison.Ordinal) || signature.Length != Prefix.Length + 64)
        {
            return false;
        }

        Span<byte> sent = stackalloc byte[32];
        if (Convert.FromHexString(signature.AsSpan(Prefix.Length), sent, out _, out var written) != System.Buffers.OperationStatus.Done || written != 32)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[32];
        HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body, expected);
        return CryptographicOperations.FixedTimeEquals(sent, expected);
    }

    /// <summary>The action a verified delivery carries; throws <see cref="InvalidDataException"/> when the signature
    /// does not match (nothing of the body is read then).</summary>
    public static async Task<CampaignAction> ReadAsync(string secret, byte[] body, string? signature, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (!IsValid(secret, body, signature))
        {
            throw new InvalidDataException($"the {Header} header does not sign this body with the webhook's secret");
        }

        using var stream = new MemoryStream(body, writable: false);
        var node = await new JsonParseNodeFactory().GetRootParseNodeAsync("application/json", stream, cancellationToken).ConfigureAwait(false);
        return node.GetObjectValue(CampaignAction.CreateFromDiscriminatorValue)
            ?? throw new InvalidDataException("the delivery's body is not a campaign action");
    }
}
