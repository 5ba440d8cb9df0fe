namespace OrleansCrm.Customers;

/// <summary>
/// Maps a customer id as the outside world writes it to the grain key. The prefix keeps all-digit ids such as
/// "058349" from being read as numbers by the storage layer, where "058349" and "58349" would collide.
/// </summary>
public static class CustomerKeys
{
    public const int MaxIdLength = 128;

    public static string GrainKey(string customerId) => "c:" + customerId;

    public static string CustomerId(string grainKey) =>
        grainKey.StartsWith("c:", StringComparison.Ordinal) ? grainKey[2..] : grainKey;

    /// <summary>Null when <paramref name="customerId"/> is usable, else what is wrong with it.</summary>
    public static string? Validate(string? customerId)
    {
        if (string.IsNullOrWhiteSpace(customerId))
        {
            return "must not be empty";
        }

        if (customerId.Length > MaxIdLength)
        {
            return $"must be at most {MaxIdLength} characters";
        }

        if (!customerId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '@' or ':'))
        {
            return "may hold only letters, digits and - _ . @ :";
        }

        return null;
    }

    public static ICustomerGrain GetCustomer(this IGrainFactory grains, string customerId) =>
        grains.GetGrain<ICustomerGrain>(GrainKey(customerId));
}
