using System.Globalization;
using OrleansCrm.Customers;

namespace OrleansCrm.Decisions;

/// <summary>
/// Scores, rules and next-best-action for one customer. Pure functions of the customer's state, the event (for
/// rules) and the silo's <see cref="DecisionSnapshot"/>; scores and offers are evaluated when the view is read,
/// so recency never goes stale, and rules run as each new event is applied.
/// </summary>
public static class CustomerDecisions
{
    public const int AlertLimit = 20;
    public const int FiringLimit = 100;
    public const int NextBestActionCount = 3;
    private const double PriorStrength = 20;
    private const double DefaultPropensity = 0.1;
    private static readonly TimeSpan RiskFlagLife = TimeSpan.FromDays(90);

    /// <summary>Runs the enabled rules against a newly applied event; returns the rules that fired.</summary>
    public static List<RuleFiring> FireRules(CustomerState s, CustomerEvent e, DateTimeOffset now, DecisionSnapshot decisions)
    {
        var fired = new List<RuleFiring>();
        foreach (var rule in decisions.Rules)
        {
            if (rule.When is not { } when || (when.Type is not null && when.Type != e.Type))
            {
                continue;
            }

            var facts = Facts(s, e, now, decisions);
            if (!(when.Conditions ?? []).All(c => c.Evaluate(facts)))
            {
                continue;
            }

            var firing = new RuleFiring(rule.Id!, e.EventId, now);
            foreach (var action in rule.Then ?? [])
            {
                switch (action.Action)
                {
                    case "tag":
                        s.Tags.Add(action.Tag!);
                        break;
                    case "alert":
                        AddAlert(s, new CustomerAlert(rule.Id!, e.EventId, "alert", action.Message!, now));
                        break;
                    case "adjustScore":
                        s.Scores[action.Score!] = s.Scores.GetValueOrDefault(action.Score!) + action.Delta!.Value;
                        break;
                    case "proposeOffer":
                        s.ProposedOffers[action.OfferId!] = firing;
                        break;
                    case "triggerCampaign":
                        AddAlert(s, new CustomerAlert(rule.Id!, e.EventId, "campaign", action.CampaignId!, now));
                        s.PendingTriggers.Add(new CampaignTrigger(action.CampaignId!, e.EventId));
                        break;
                    default:
                        break;
                }
            }

            s.RuleFirings.Insert(0, firing);
            if (s.RuleFirings.Count > FiringLimit)
            {
                s.RuleFirings.RemoveRange(FiringLimit, s.RuleFirings.Count - FiringLimit);
            }

            fired.Add(firing);
        }

        return fired;
    }

    public static Dictionary<string, ScoreView> Scores(CustomerState s, DateTimeOffset now, DecisionSnapshot decisions)
    {
        var scores = new Dictionary<string, ScoreView>(StringComparer.Ordinal);
        var t = s.Totals;
        var days = DaysSinceLastPurchase(s, now);

        if (decisions.Rfm is { Customers: > 0 } rfm && t.PurchaseCount > 0)
        {
            var r = 6 - Quintile(days!.Value, rfm.RecencyDays);
            var f = Quintile(t.PurchaseCount, rfm.Frequency);
            var m = Quintile((double)t.PurchaseTotal, rfm.Monetary);
            scores[CustomerScores.Rfm] = new ScoreView((r + f + m) / 3.0, $"R{r}F{f}M{m}",
            [
                $"last purchase {days.Value:0} days ago (R{r})",
                $"{t.PurchaseCount} purchases (F{f})",
                $"spent {t.PurchaseTotal.ToString("0.00", CultureInfo.InvariantCulture)} in all (M{m})",
            ]);
        }

        var features = Features(s, now);
        if (decisions.Models.Churn is { } churn)
        {
            var result = churn.Score(features);
            scores[CustomerScores.ChurnRisk] = new ScoreView(Math.Round(result.Probability, 4), $"model v{churn.Version}", [.. result.Reasons.Select(Describe)]);
        }
        else
        {
            // Without a trained model: long silence against the customer's own rhythm, few products, a young relationship.
            var reasons = new List<string>();
            var risk = 0.1;
            if (days is { } d && t.PurchaseCount > 1 && t.FirstPurchaseAt is { } first && t.LastPurchaseAt is { } last)
            {
                var interval = Math.Max(1, (last - first).TotalDays / (t.PurchaseCount - 1));
                if (d > 3 * interval)
                {
                    risk += 0.4;
                    reasons.Add($"no purchase for {d:0} days, usually every {interval:0}");
                }
            }

            if (s.Products.Values.Count(p => p.Status == "active") == 1)
            {
                risk += 0.2;
                reasons.Add("holds a single product");
            }

            if (s.CreatedAt > now.AddYears(-1))
            {
                risk += 0.1;
                reasons.Add("customer for less than a year");
            }

            scores[CustomerScores.ChurnRisk] = new ScoreView(Math.Min(risk, 1), "rules of thumb (no model trained)", [.. reasons]);
        }

        var propensity = decisions.Models.Response?.Score(features);
        scores[CustomerScores.ResponsePropensity] = propensity is null
            ? new ScoreView(DefaultPropensity, "prior (no model trained)", [])
            : new ScoreView(Math.Round(propensity.Probability, 4), $"model v{decisions.Models.Response!.Version}", [.. propensity.Reasons.Select(Describe)]);

        // Per offer category and channel: the response score adapted by how similar customers answered offers of
        // that category on that channel.
        var group = Group(s, decisions);
        foreach (var byCategory in decisions.Offers.Where(o => o.Category is not null).GroupBy(o => o.Category!))
        {
            foreach (var channel in byCategory.SelectMany(o => o.Channels ?? []).Distinct())
            {
                var total = byCategory.Select(o => Counts(decisions.Learning.GetValueOrDefault(o.Id!), group, channel))
                    .Aggregate(new OutcomeCounts(0, 0, 0), (a, b) => new OutcomeCounts(a.Accepted + b.Accepted, a.Declined + b.Declined, a.NotNow + b.NotNow));
                var prior = scores[CustomerScores.ResponsePropensity].Value;
                scores[CustomerScores.ResponsePropensityFor(byCategory.Key, channel)] = new ScoreView(Math.Round(Propensity(total, prior), 4), null,
                    [$"{total.Accepted} accepted, {total.Declined} declined, {total.NotNow} not now among similar customers", $"starting from the response score {prior:0.###}"]);
            }
        }

        scores[CustomerScores.HistoricalValue] = new ScoreView((double)t.PurchaseTotal, null, [$"{t.PurchaseCount} purchases"]);
        if (decisions.Models.Ltv is { } ltv && t.PurchaseCount > 0 && t.FirstPurchaseAt is { } firstAt && t.LastPurchaseAt is { } lastAt)
        {
            var x = t.PurchaseCount - 1;
            var tx = (lastAt - firstAt).TotalDays / 7;
            var asOf = ltv.ObservedUntil + (now - ltv.TrainedAt);
            var age = Math.Max(tx, (asOf - firstAt).TotalDays / 7);
            var purchases = Ltv.ExpectedPurchases(ltv, 52, x, tx, age);
            // The state keeps totals, not the first purchase apart, so the mean over all purchases stands in for the
            // mean over repeat ones.
            var spend = Ltv.ExpectedSpend(ltv, x, (double)t.PurchaseTotal / t.PurchaseCount);
            scores[CustomerScores.ExpectedPurchases52w] = new ScoreView(Math.Round(purchases, 3), $"BG/NBD v{ltv.Version}", [$"{x} repeat purchases over {tx:0} of {age:0} weeks"]);
            scores[CustomerScores.PredictedValue52w] = new ScoreView(Math.Round(purchases * spend, 2), $"BG/NBD × Gamma-Gamma v{ltv.Version}", [$"expected spend per purchase {spend:0.00}"]);
        }

        var flags = s.RiskFlags.Where(kv => kv.Value > now - RiskFlagLife).Select(kv => kv.Key).ToList();
        if (t.PaymentsLate >= 3 && t.PaymentsDue > t.PaymentsPaid)
        {
            flags.Add("late-payments");
        }

        scores[CustomerScores.RiskFlag] = new ScoreView(flags.Count > 0 ? 1 : 0, flags.Count > 0 ? string.Join(",", flags) : null, [.. flags.Select(f => f switch
        {
            "large-withdrawal" => "withdrew at least half of the balance held",
            "late-payments" => $"{t.PaymentsLate} late payments and bills still open",
            _ => f,
        })]);

        foreach (var (name, delta) in s.Scores)
        {
            scores[name] = scores.TryGetValue(name, out var v)
                ? v with { Value = v.Value + delta, Reasons = [.. v.Reasons, $"adjusted by rules {delta:+0.##;-0.##}"] }
                : new ScoreView(delta, "set by rules", []);
        }

        return scores;
    }

    public static NextBestAction[] NextBestActions(CustomerState s, DateTimeOffset now, DecisionSnapshot decisions, Dictionary<string, ScoreView> scores)
    {
        if (decisions.Offers.Count == 0)
        {
            return [];
        }

        var facts = Facts(s, null, now, decisions);
        var prior = scores.TryGetValue(CustomerScores.ResponsePropensity, out var rp) ? rp.Value : DefaultPropensity;
        var group = Group(s, decisions);
        var ranked = new List<NextBestAction>();
        foreach (var offer in decisions.Offers)
        {
            if ((offer.ValidFrom is { } from && now < from) || (offer.ValidTo is { } to && now >= to))
            {
                continue;
            }

            if (s.OfferAnswers.TryGetValue(offer.Id!, out var answer)
                && (answer.Outcome == "accepted" || answer.At > now.AddDays(-offer.CooldownDays)))
            {
                continue;
            }

            if (!(offer.Eligibility ?? []).All(c => c.Evaluate(facts)))
            {
                continue;
            }

            var channels = (offer.Channels ?? []).Where(c => Allowed(s, c, offer.ConsentPurpose)).ToList();
            if (channels.Count == 0)
            {
                continue;
            }

            // The channel where similar customers answered this offer best; the preferred channel wins ties.
            var learning = decisions.Learning.GetValueOrDefault(offer.Id!);
            var (channel, counts, propensity) = channels
                .Select(c => (Channel: c, Counts: Counts(learning, group, c), Preferred: c == s.PreferredChannel))
                .Select(x => (x.Channel, x.Counts, P: Propensity(x.Counts, prior), x.Preferred))
                .OrderByDescending(x => x.P).ThenByDescending(x => x.Preferred).ThenBy(x => channels.IndexOf(x.Channel))
                .Select(x => (x.Channel, x.Counts, x.P))
                .First();
            var proposed = s.ProposedOffers.TryGetValue(offer.Id!, out var firing);
            var boost = proposed ? 1.5 : 1;
            var score = propensity * (double)offer.Value * offer.Lever * boost;
            var reason = $"propensity {propensity:0.###} ({counts.Accepted} accepted, {counts.Declined} declined among similar customers) × value {offer.Value:0.##} × priority {offer.Lever:0.##}"
                + (proposed ? $"; proposed by rule {firing!.RuleId} on event {firing.EventId}" : "");
            ranked.Add(new NextBestAction(offer.Id!, offer.Name!, channel, Math.Round(score, 4), Math.Round(propensity, 4), offer.Value, reason));
        }

        return [.. ranked.OrderByDescending(n => n.Score).ThenBy(n => n.OfferId, StringComparer.Ordinal).Take(NextBestActionCount)];
    }

    /// <summary>Where an answer is counted: the customer's group and the channel it came through.</summary>
    public static string LearningKey(string group, string? channel) => $"{group}|{channel ?? "any"}";

    /// <summary>Answers of a group on one channel, plus those recorded without a channel.</summary>
    private static OutcomeCounts Counts(OfferLearning? learning, string group, string channel)
    {
        var on = learning?.Groups.GetValueOrDefault(LearningKey(group, channel)) ?? new OutcomeCounts(0, 0, 0);
        var any = learning?.Groups.GetValueOrDefault(LearningKey(group, null)) ?? new OutcomeCounts(0, 0, 0);
        return new OutcomeCounts(on.Accepted + any.Accepted, on.Declined + any.Declined, on.NotNow + any.NotNow);
    }

    /// <summary>The acceptance rate among similar customers, shrunk towards <paramref name="prior"/> with the weight
    /// of <see cref="PriorStrength"/> answers.</summary>
    private static double Propensity(OutcomeCounts counts, double prior) =>
        (counts.Accepted + (prior * PriorStrength)) / (counts.Accepted + counts.Declined + (0.5 * counts.NotNow) + PriorStrength);

    /// <summary>Customers alike enough to learn from each other's answers: same monetary quintile.</summary>
    public static string Group(CustomerState s, DecisionSnapshot decisions) =>
        decisions.Rfm is { Customers: > 0 } rfm && s.Totals.PurchaseCount > 0 ? $"m{Quintile((double)s.Totals.PurchaseTotal, rfm.Monetary)}" : "m0";

    /// <summary>Everything a condition can test: the event (when there is one) and the customer.</summary>
    public static Func<string, object?> Facts(CustomerState s, CustomerEvent? e, DateTimeOffset now, DecisionSnapshot decisions)
    {
        Dictionary<string, ScoreView>? scores = null;
        return field =>
        {
            if (field.StartsWith("data.", StringComparison.Ordinal))
            {
                var d = e?.Data;
                return field[5..] switch
                {
                    "amount" => d?.Amount,
                    "currency" => d?.Currency,
                    "productId" => d?.ProductId,
                    "productName" => d?.ProductName,
                    "category" => d?.Category,
                    "quantity" => d?.Quantity,
                    "caseId" => d?.CaseId,
                    "subject" => d?.Subject,
                    "agent" => d?.Agent,
                    "outcome" => d?.Outcome,
                    "campaign" => d?.Campaign,
                    "url" => d?.Url,
                    "purpose" => d?.Purpose,
                    "granted" => d?.Granted,
                    "reference" => d?.Reference,
                    "offerId" => d?.OfferId,
                    _ => null,
                };
            }

            if (field.StartsWith("customer.attributes.", StringComparison.Ordinal))
            {
                return s.Attributes.GetValueOrDefault(field["customer.attributes.".Length..]);
            }

            if (field.StartsWith("consent.", StringComparison.Ordinal) && field.Split('.') is [_, var channel, var purpose])
            {
                // Granted, revoked, or never given (missing).
                return s.Consents.TryGetValue($"{channel}|{purpose}", out var consent) ? consent.Granted : null;
            }

            if (field.StartsWith("customer.scores.", StringComparison.Ordinal))
            {
                scores ??= Scores(s, now, decisions with { Offers = [] });
                return scores.TryGetValue(field["customer.scores.".Length..], out var v) ? v.Value : null;
            }

            var t = s.Totals;
            return field switch
            {
                "event.type" => e?.Type,
                "event.channel" => e?.Channel,
                "event.source" => e?.Source,
                "customer.region" => s.Region,
                "customer.orgUnit" => s.OrgUnit,
                "customer.accountManager" => s.AccountManager,
                "customer.preferredChannel" => s.PreferredChannel,
                "customer.email" => s.Emails.Count == 0 ? null : s.Emails.MaxBy(kv => kv.Value).Key,
                "customer.phone" => s.Phones.Count == 0 ? null : s.Phones.MaxBy(kv => kv.Value).Key,
                "customer.tags" => s.Tags,
                "customer.segments" => s.Segments,
                "customer.products" => s.Products.Values.Where(p => p.Status == "active").Select(p => p.ProductId).ToList(),
                "customer.purchaseCount" => t.PurchaseCount,
                "customer.purchaseTotal" => t.PurchaseTotal,
                "customer.spend30Days" => CustomerAggregate.RollingSpend(t, now, 30),
                "customer.spend90Days" => CustomerAggregate.RollingSpend(t, now, 90),
                "customer.spend365Days" => CustomerAggregate.RollingSpend(t, now, 365),
                "customer.daysSinceLastPurchase" => DaysSinceLastPurchase(s, now),
                "customer.depositTotal" => t.DepositTotal,
                "customer.withdrawalTotal" => t.WithdrawalTotal,
                "customer.paymentsLate" => t.PaymentsLate,
                "customer.openCases" => s.Cases.Values.Count(c => c.Status != "closed"),
                "customer.eventCount" => s.EventCount,
                "customer.ageYears" => s.BirthDate is { } b ? (now.Year - b.Year - (now.DayOfYear < b.DayOfYear ? 1 : 0)) : null,
                _ => null,
            };
        };
    }

    /// <summary>The features the scorecards read: the customer's free attributes plus derived figures.</summary>
    public static Dictionary<string, string> Features(CustomerState s, DateTimeOffset now)
    {
        var features = new Dictionary<string, string>(s.Attributes, StringComparer.Ordinal);
        var t = s.Totals;
        features["purchaseCount"] = t.PurchaseCount.ToString(CultureInfo.InvariantCulture);
        features["purchaseTotal"] = t.PurchaseTotal.ToString(CultureInfo.InvariantCulture);
        if (DaysSinceLastPurchase(s, now) is { } days)
        {
            features["daysSinceLastPurchase"] = days.ToString("0", CultureInfo.InvariantCulture);
        }

        return features;
    }

    private static bool Allowed(CustomerState s, string channel, string? purpose) =>
        purpose is null || !s.Consents.TryGetValue($"{channel}|{purpose}", out var consent) || consent.Granted;

    private static int Quintile(double value, double[] cuts)
    {
        var q = 1;
        foreach (var cut in cuts)
        {
            if (value > cut)
            {
                q++;
            }
        }

        return q;
    }

    private static double? DaysSinceLastPurchase(CustomerState s, DateTimeOffset now) =>
        s.Totals.LastPurchaseAt is { } last ? Math.Max(0, (now - last).TotalDays) : null;

    private static string Describe(OrleansCrm.Scoring.ScoreReason r) => $"{r.Factor} {r.Direction} it";

    private static void AddAlert(CustomerState s, CustomerAlert alert)
    {
        s.Alerts.Insert(0, alert);
        if (s.Alerts.Count > AlertLimit)
        {
            s.Alerts.RemoveRange(AlertLimit, s.Alerts.Count - AlertLimit);
        }
    }
}
