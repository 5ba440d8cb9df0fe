namespace OrleansCrm.Decisions;

/// <summary>Offer learning's outcomes as rows (<c>crm_offer_outcomes</c>), one per offer and outcome id, written only by
/// the offer's learning grain: the key refuses a repeated report however late it comes.</summary>
public interface IOfferOutcomeStore
{
    /// <summary>Stores, in one statement or transaction, the outcomes whose ids the offer does not hold yet; returns the
    /// ids this call stored. An id already stored, or listed twice, is stored once and counted once.</summary>
    Task<IReadOnlySet<string>> AddAsync(string offerId, IReadOnlyList<OfferOutcome> outcomes);

    /// <summary>The offer's stored outcomes counted per group label (one aggregate query).</summary>
    Task<IReadOnlyDictionary<string, OutcomeCounts>> CountAsync(string offerId);
}

/// <summary>One answer to an offer: <see cref="Outcome"/> is <c>accepted</c>, <c>declined</c> or <c>notnow</c>.</summary>
public sealed record OfferOutcome(string OutcomeId, string Group, string Outcome);

/// <summary>How an outcome counts: the one place that maps an answer to its column.</summary>
public static class OutcomeTally
{
    /// <summary>Anything but <c>accepted</c> or <c>declined</c> counts as not now, as it always has.</summary>
    public static string Normalise(string outcome) => outcome is "accepted" or "declined" ? outcome : "notnow";

    /// <summary><paramref name="counts"/> with <paramref name="count"/> more answers of <paramref name="outcome"/>.</summary>
    public static OutcomeCounts Add(OutcomeCounts? counts, string outcome, long count)
    {
        var c = counts ?? new OutcomeCounts(0, 0, 0);
        return Normalise(outcome) switch
        {
            "accepted" => c with { Accepted = c.Accepted + count },
            "declined" => c with { Declined = c.Declined + count },
            _ => c with { NotNow = c.NotNow + count },
        };
    }
}
