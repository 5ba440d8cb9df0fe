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
/// per change and kept member by member (<see cref="EncodedState"/>);</item>
/// <item>what depends on the moment of the read (the transaction summary's rolling spend, the scores and next-best-action),
/// computed and encoded at every read and appended by <see cref="Compose"/>, so they are never stale.</item>
/// </list>
/// The members are those of <see cref="CustomerView"/>, named as the API names them (camelCase), the time-dependent ones
/// last. A read may ask for some members only (<c>?fields=</c>): the others are neither computed nor sent.
/// </summary>
public static class CustomerViewJson
{
    /// <summary>The members computed at each read.</summary>
    public static readonly IReadOnlyList<string> Timed = ["transactions", "scores", "nextBestActions"];

    /// <summary>Every member of the view as the API names it, in the order of <see cref="CustomerView"/>.</summary>
    public static readonly IReadOnlyList<string> Members = [.. CrmJson.Default.CustomerView.Properties.Select(p => p.Name)];

    /// <summary>The member every answer carries, whatever the read asked for.</summary>
    public const string Always = "customerId";

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

    /// <summary>The state-only members encoded: one buffer, and where each <c>"name":value</c> lies in it.</summary>
    public sealed class EncodedState(byte[] utf8, (string Name, int Start, int Length)[] members)
    {
        internal byte[] Utf8 { get; } = utf8;

        internal (string Name, int Start, int Length)[] Members { get; } = members;
    }

    /// <summary>Encodes the members of <paramref name="view"/> that depend on the state alone.</summary>
    public static EncodedState Encode(CustomerView view)
    {
        var utf8 = JsonSerializer.SerializeToUtf8Bytes(view, Stateful);
        var members = new List<(string, int, int)>(Members.Count);
        var reader = new Utf8JsonReader(utf8);
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1)
            {
                var start = (int)reader.TokenStartIndex;
                var name = reader.GetString()!;
                reader.Read();
                reader.Skip();
                members.Add((name, start, (int)reader.BytesConsumed - start));
            }
        }

        return new EncodedState(utf8, [.. members]);
    }

    /// <summary>The view as sent: the state-only members of <paramref name="state"/> that <paramref name="fields"/> asks
    /// for (null: all), then each time-dependent member given (null: not asked for).</summary>
    public static byte[] Compose(EncodedState state, IReadOnlySet<string>? fields, TransactionSummary? transactions,
        Dictionary<string, ScoreView>? scores, NextBestAction[]? nextBestActions)
    {
        var output = new ArrayBufferWriter<byte>(state.Utf8.Length + 1024);
        output.Write("{"u8);
        var first = true;
        foreach (var (name, start, length) in state.Members)
        {
            if (fields is null || name == Always || fields.Contains(name))
            {
                if (!first)
                {
                    output.Write(","u8);
                }

                output.Write(state.Utf8.AsSpan(start, length));
                first = false;
            }
        }

        using var writer = new Utf8JsonWriter(output);
        void Member<T>(ReadOnlySpan<byte> name, T? value, JsonTypeInfo<T> type)
        {
            if (value is null)
            {
                return;
            }

            output.Write(name);
            JsonSerializer.Serialize(writer, value, type);
            writer.Flush();
            writer.Reset();
        }

        Member(",\"transactions\":"u8, transactions, CrmJson.Default.TransactionSummary);
        Member(",\"scores\":"u8, scores, CrmJson.Default.DictionaryStringScoreView);
        Member(",\"nextBestActions\":"u8, nextBestActions, CrmJson.Default.NextBestActionArray);
        output.Write("}"u8);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>The members a <c>fields</c> list names (comma-separated), or why it cannot be read.</summary>
    public static (IReadOnlySet<string>? Fields, string? Problem) ParseFields(string? text)
    {
        if (text is null)
        {
            return (null, null);
        }

        if (text.Length > 1000)
        {
            return (null, "is longer than 1000 characters");
        }

        var names = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (names.Length == 0)
        {
            return (null, "names no member; leave it out for the whole view");
        }

        var unknown = names.FirstOrDefault(n => !Members.Contains(n));
        return unknown is not null
            ? (null, $"'{(unknown.Length > 40 ? unknown[..40] + "…" : unknown)}' is not a member of the view; members: {string.Join(", ", Members)}")
            : (names.ToHashSet(StringComparer.Ordinal), null);
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
