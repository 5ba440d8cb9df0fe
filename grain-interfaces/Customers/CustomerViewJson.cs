using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace OrleansCrm.Customers;

/// <summary>
/// The customer view as the API sends it, encoded by the customer itself (<see cref="ICustomerReading.GetViewJsonAsync"/>)
/// so a read neither rebuilds nor re-encodes what did not change. The view splits in two:
/// <list type="bullet">
/// <item>what depends on the state alone (profile, products, consents, cases, contacts, segments, alerts…), encoded once
/// per change and kept as <see cref="Prefix"/>;</item>
/// <item>what depends on the moment of the read (the transaction summary's rolling spend, the scores and next-best-action),
/// computed and encoded at every read and appended by <see cref="Compose"/>, so they are never stale.</item>
/// </list>
/// The members are those of <see cref="CustomerView"/>, named as the API names them (camelCase), the time-dependent ones
/// last.
/// </summary>
public static class CustomerViewJson
{
    /// <summary>The members computed at each read.</summary>
    private static readonly string[] Timed = ["transactions", "scores", "nextBestActions"];

    /// <summary>The view without its time-dependent members.</summary>
    private static readonly JsonTypeInfo<CustomerView> Stateful = (JsonTypeInfo<CustomerView>)new JsonSerializerOptions(CrmJson.Default.Options)
    {
        TypeInfoResolver = CrmJson.Default.WithAddedModifier(info =>
        {
            if (info.Type == typeof(CustomerView))
            {
                foreach (var property in info.Properties.Where(p => Timed.Contains(p.Name)).ToList())
                {
                    info.Properties.Remove(property);
                }
            }
        }),
    }.GetTypeInfo(typeof(CustomerView));

    /// <summary>The members of <paramref name="view"/> that depend on the state alone, encoded, without the closing brace.</summary>
    public static byte[] Prefix(CustomerView view)
    {
        var encoded = JsonSerializer.SerializeToUtf8Bytes(view, Stateful);
        return encoded[..^1];
    }

    /// <summary>The whole view: <paramref name="prefix"/>, then the time-dependent members, then the closing brace.</summary>
    public static byte[] Compose(byte[] prefix, TransactionSummary transactions, Dictionary<string, ScoreView> scores, NextBestAction[] nextBestActions)
    {
        var output = new ArrayBufferWriter<byte>(prefix.Length + 1024);
        output.Write(prefix);
        using var writer = new Utf8JsonWriter(output);
        output.Write(",\"transactions\":"u8);
        JsonSerializer.Serialize(writer, transactions, CrmJson.Default.TransactionSummary);
        writer.Flush();
        writer.Reset();
        output.Write(",\"scores\":"u8);
        JsonSerializer.Serialize(writer, scores, CrmJson.Default.DictionaryStringScoreView);
        writer.Flush();
        writer.Reset();
        output.Write(",\"nextBestActions\":"u8);
        JsonSerializer.Serialize(writer, nextBestActions, CrmJson.Default.NextBestActionArray);
        writer.Flush();
        output.Write("}"u8);
        return output.WrittenSpan.ToArray();
    }
}

/// <summary>An encoded view: UTF-8 JSON, sent to the caller as it is.</summary>
[GenerateSerializer, Immutable, Alias("crm.ViewJson")]
public sealed record ViewJson([property: Id(0)] byte[] Utf8);

/// <summary>
/// Compile-time JSON metadata for the answers of the API (no reflection on the hot paths), with the API's settings:
/// the web defaults (camelCase names, nulls written). The gateway puts it first in its resolver chain.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(CustomerView))]
[JsonSerializable(typeof(TransactionSummary))]
[JsonSerializable(typeof(Dictionary<string, ScoreView>))]
[JsonSerializable(typeof(NextBestAction[]))]
[JsonSerializable(typeof(RecordResult))]
[JsonSerializable(typeof(RecordOutcome))]
[JsonSerializable(typeof(HistoryPage))]
[JsonSerializable(typeof(LookupResult))]
public sealed partial class CrmJson : JsonSerializerContext;
