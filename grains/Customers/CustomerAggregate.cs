namespace OrleansCrm.Customers;

/// <summary>
/// How events change a customer's state. Pure and order-independent: applying the same events in any order gives
/// the same state (sums and counts commute; "latest" values are chosen by occurred-at, ties by event id), so late
/// events land where they belong.
/// </summary>
public static class CustomerAggregate
{
    public const int RecentContactLimit = 50;
    public const int ClosedCaseLimit = 20;
    public const int SpendWindowDays = 400;
    public const int MoneyMovesKept = 200;
    public const string LargeWithdrawalFlag = "large-withdrawal";

    /// <summary>Applies one event. With <paramref name="merging"/>, profile values only fill gaps, so the
    /// surviving customer's own profile wins over the absorbed one's.</summary>
    public static void Apply(CustomerState s, CustomerEvent e, DateTimeOffset now, bool merging = false)
    {
        s.EventCount++;
        var d = e.Data;
        // Folded by kind, so a new contact type needs only its declaration in CustomerEventTypes.Registered.
        var type = CustomerEventTypes.Find(e.Type);
        switch (type?.Kind)
        {
            case EventKind.Transaction:
                ApplyTransaction(s, e, now);
                break;
            case EventKind.Product:
                ApplyProduct(s, e);
                break;
            case EventKind.Case when type?.Stage is { } stage:
                ApplyCase(s, e, stage);
                break;
            case EventKind.Consent:
                var key = $"{e.Channel}|{d.Purpose}";
                var consent = new ConsentView(e.Channel!, d.Purpose!, d.Granted == true, e.OccurredAt, e.Source);
                if (!s.Consents.TryGetValue(key, out var current) || Later(consent, current))
                {
                    s.Consents[key] = consent;
                }

                break;
            case EventKind.Profile:
                ApplyProfile(s, d.Profile!, e.OccurredAt, merging);
                break;
            case EventKind.OfferOutcome:
                if (!s.OfferAnswers.TryGetValue(d.OfferId!, out var answer) || e.OccurredAt > answer.At
                    || (e.OccurredAt == answer.At && string.CompareOrdinal(e.EventId, answer.EventId) > 0))
                {
                    s.OfferAnswers[d.OfferId!] = new OfferAnswer(d.Outcome!, e.OccurredAt, e.EventId);
                }

                break;
            case EventKind.Internal when e.Type == CustomerEventTypes.CustomerErased:
                CustomerRedaction.Anonymise(s, e.OccurredAt);
                break;
            default:
                // Contacts and campaign records change nothing beyond the recent contacts below.
                break;
        }

        if (type?.Direction is { } direction)
        {
            AddContact(s, e, direction, type.ChannelFamily);
        }
    }

    /// <summary>Each transaction type moves its own totals.</summary>
    private static void ApplyTransaction(CustomerState s, CustomerEvent e, DateTimeOffset now)
    {
        var d = e.Data;
        var t = s.Totals;
        switch (e.Type)
        {
            case CustomerEventTypes.Purchase:
                var amount = d.Amount ?? 0;
                t.PurchaseCount++;
                t.PurchaseTotal += amount;
                t.ItemsBought += d.Quantity ?? 1;
                t.FirstPurchaseAt = Min(t.FirstPurchaseAt, e.OccurredAt);
                t.LastPurchaseAt = Max(t.LastPurchaseAt, e.OccurredAt);
                var day = DayNumber(e.OccurredAt);
                if (day > DayNumber(now) - SpendWindowDays)
                {
                    t.DailySpend[day] = t.DailySpend.GetValueOrDefault(day) + amount;
                }

                PruneSpend(t, now);
                break;
            case CustomerEventTypes.Deposit:
                AddMoneyMove(s, new MoneyMove(e.OccurredAt, e.EventId, d.Amount ?? 0), now);
                t.DepositCount++;
                t.DepositTotal += d.Amount ?? 0;
                t.LastDepositAt = Max(t.LastDepositAt, e.OccurredAt);
                break;
            case CustomerEventTypes.Withdrawal:
                AddMoneyMove(s, new MoneyMove(e.OccurredAt, e.EventId, -(d.Amount ?? 0)), now);
                t.WithdrawalCount++;
                t.WithdrawalTotal += d.Amount ?? 0;
                t.LastWithdrawalAt = Max(t.LastWithdrawalAt, e.OccurredAt);
                break;
            case CustomerEventTypes.PaymentDue:
                t.PaymentsDue++;
                break;
            case CustomerEventTypes.PaymentPaid:
                t.PaymentsPaid++;
                if (d.DueAt is { } due && e.OccurredAt > due)
                {
                    t.PaymentsLate++;
                }

                break;
            default:
                break;
        }
    }

    public static void ApplyProfile(CustomerState s, CustomerProfile p, DateTimeOffset at, bool merging)
    {
        // The later change wins; of two at the same moment, the greater value (ordinal), so any arrival order gives one answer.
        bool Wins(string field, bool hasValue, string candidate, string? current) =>
            merging ? !hasValue : LaterValue(s, field, at, candidate, current);

        if (p.FirstName?.Trim() is { } first && Wins("firstName", s.FirstName is not null, first, s.FirstName))
        {
            s.FirstName = first;
        }

        if (p.LastName?.Trim() is { } last && Wins("lastName", s.LastName is not null, last, s.LastName))
        {
            s.LastName = last;
        }

        if (p.BirthDate is { } birth && Wins("birthDate", s.BirthDate is not null, birth.ToString("O"), s.BirthDate?.ToString("O")))
        {
            s.BirthDate = birth;
        }

        if (p.Address is { } address && Wins("address", s.Address is not null, AddressKey(address), s.Address is { } held ? AddressKey(held) : null))
        {
            s.Address = address;
        }

        // Written as callers' reach compares it ("CN/Beijing " is cn/beijing).
        if (p.OrgUnit is { } org && OrleansCrm.Access.OrgUnits.Normalise(org) is var unit && Wins("orgUnit", s.OrgUnit is not null, unit, s.OrgUnit))
        {
            s.OrgUnit = unit;
        }

        if (p.Region?.Trim() is { } region && Wins("region", s.Region is not null, region, s.Region))
        {
            s.Region = region;
        }

        if (p.AccountManager?.Trim() is { } manager && Wins("accountManager", s.AccountManager is not null, manager, s.AccountManager))
        {
            s.AccountManager = manager;
        }

        if (p.PreferredChannel is { } channel && Wins("preferredChannel", s.PreferredChannel is not null, channel, s.PreferredChannel))
        {
            s.PreferredChannel = channel;
        }

        if (p.Email is { } email)
        {
            Touch(s.Emails, ContactPoints.Email(email), at);
        }

        if (p.Phone is { } phone)
        {
            Touch(s.Phones, ContactPoints.Phone(phone), at);
        }

        foreach (var (k, v) in p.Attributes ?? [])
        {
            if (Wins("attr:" + k, s.Attributes.ContainsKey(k), v, s.Attributes.GetValueOrDefault(k)))
            {
                s.Attributes[k] = v;
            }
        }

        foreach (var tag in p.Tags ?? [])
        {
            s.Tags.Add(tag.Trim());
        }

        foreach (var (system, id) in p.ExternalIds ?? [])
        {
            var name = system.Trim().ToLowerInvariant();
            if (Wins("ext:" + name, s.ExternalIds.ContainsKey(name), id.Trim(), s.ExternalIds.GetValueOrDefault(name)))
            {
                s.ExternalIds[name] = id.Trim();
            }
        }
    }

    /// <summary>The view at <paramref name="now"/>; without <paramref name="timed"/>, the members that depend on the moment
    /// (scores, next-best-action) are left empty: <see cref="CustomerViewJson"/> computes them at every read.</summary>
    public static CustomerView View(CustomerState s, string customerId, DateTimeOffset now, OrleansCrm.Decisions.DecisionSnapshot? decisions = null, bool timed = true)
    {
        decisions ??= OrleansCrm.Decisions.DecisionSnapshot.Empty;
        var scores = timed ? OrleansCrm.Decisions.CustomerDecisions.Scores(s, now, decisions) : [];
        var cases = s.Cases.Values.OrderByDescending(c => c.OpenedAt ?? c.AnsweredAt ?? c.ClosedAt).ThenBy(c => c.CaseId, StringComparer.Ordinal).ToArray();
        return new CustomerView(
            customerId,
            s.FirstName,
            s.LastName,
            Ordered(s.Emails),
            Ordered(s.Phones),
            s.BirthDate,
            s.Address,
            s.OrgUnit,
            s.Region,
            s.AccountManager,
            s.PreferredChannel,
            new Dictionary<string, string>(s.Attributes, StringComparer.Ordinal),
            [.. s.Tags],
            new Dictionary<string, string>(s.ExternalIds, StringComparer.Ordinal),
            [.. s.Products.Values.OrderBy(p => p.ProductId, StringComparer.Ordinal)],
            Summary(s.Totals, now),
            [.. s.Consents.Values.OrderBy(c => c.Channel, StringComparer.Ordinal).ThenBy(c => c.Purpose, StringComparer.Ordinal)],
            [.. cases.Where(c => c.Status != "closed")],
            [.. cases.Where(c => c.Status == "closed")],
            [.. s.RecentContacts],
            scores,
            [.. s.Segments],
            timed ? OrleansCrm.Decisions.CustomerDecisions.NextBestActions(s, now, decisions, scores) : [],
            [.. s.Alerts],
            [.. s.MergedFrom],
            s.CreatedAt,
            s.UpdatedAt,
            s.EventCount,
            s.Erasure is not null,
            s.Erasure?.At);
    }

    /// <summary>The transaction summary at <paramref name="now"/> (the rolling spend moves with it).</summary>
    public static TransactionSummary Summary(TransactionTotals t, DateTimeOffset now) => new(
        t.PurchaseCount, t.PurchaseTotal, t.ItemsBought, t.FirstPurchaseAt, t.LastPurchaseAt,
        RollingSpend(t, now, 30), RollingSpend(t, now, 90), RollingSpend(t, now, 365),
        t.DepositCount, t.DepositTotal, t.LastDepositAt,
        t.WithdrawalCount, t.WithdrawalTotal, t.LastWithdrawalAt,
        t.PaymentsDue, t.PaymentsPaid, t.PaymentsLate);

    private static void ApplyProduct(CustomerState s, CustomerEvent e)
    {
        var d = e.Data;
        s.Products.TryGetValue(d.ProductId!, out var held);
        var opened = held?.OpenedAt;
        var closed = held?.ClosedAt;
        if (e.Type == CustomerEventTypes.ProductOpened)
        {
            opened = Max(opened, e.OccurredAt);
        }
        else
        {
            closed = Max(closed, e.OccurredAt);
        }

        var status = closed is { } c && (opened is null || c >= opened) ? "closed" : "active";
        var name = d.ProductName is { } n && LaterValue(s, $"product:{d.ProductId}:name", e.OccurredAt, n, held?.Name) ? n : held?.Name;
        var category = d.Category is { } k && LaterValue(s, $"product:{d.ProductId}:category", e.OccurredAt, k, held?.Category) ? k : held?.Category;
        s.Products[d.ProductId!] = new ProductHolding(d.ProductId!, name, category, opened, closed, status);
    }

    private static void ApplyCase(CustomerState s, CustomerEvent e, CaseStage stage)
    {
        var d = e.Data;
        // A case type is named <case kind>.<stage>: complaint.opened, enquiry.closed.
        var kind = e.Type[..e.Type.IndexOf('.', StringComparison.Ordinal)];
        s.Cases.TryGetValue(d.CaseId!, out var c);
        c ??= new ServiceCase(d.CaseId!, kind, "opened", null, null, null, null, null);
        // The subject and agent of the latest event that names them (ties: the greater value), whatever the arrival order.
        var subject = stage == CaseStage.Opened && d.Subject is { } sub && LaterValue(s, $"case:{c.CaseId}:subject", e.OccurredAt, sub, c.Subject) ? sub : c.Subject;
        var agent = stage == CaseStage.Answered && d.Agent is { } who && LaterValue(s, $"case:{c.CaseId}:agent", e.OccurredAt, who, c.Agent) ? who : c.Agent;
        c = stage switch
        {
            CaseStage.Opened => c with { OpenedAt = Min(c.OpenedAt, e.OccurredAt), Subject = subject },
            CaseStage.Answered => c with { AnsweredAt = Max(c.AnsweredAt, e.OccurredAt), Agent = agent },
            _ => c with { ClosedAt = Max(c.ClosedAt, e.OccurredAt) },
        };
        c = c with { Status = c.ClosedAt is not null ? "closed" : c.AnsweredAt is not null ? "answered" : "opened" };
        s.Cases[c.CaseId] = c;

        var closed = s.Cases.Values.Where(x => x.Status == "closed").OrderByDescending(x => x.ClosedAt).ThenBy(x => x.CaseId, StringComparer.Ordinal).ToList();
        foreach (var old in closed.Skip(ClosedCaseLimit))
        {
            s.Cases.Remove(old.CaseId);
        }
    }

    /// <summary>Whether a value set at <paramref name="at"/> replaces the one <paramref name="field"/> holds: a later
    /// one does, an earlier one does not, and of two at the same moment the greater (ordinal). Notes the winner's time.</summary>
    private static bool LaterValue(CustomerState s, string field, DateTimeOffset at, string candidate, string? current)
    {
        if (s.FieldTimes.TryGetValue(field, out var setAt) && (setAt > at || (setAt == at && current is not null && string.CompareOrdinal(candidate, current) <= 0)))
        {
            return false;
        }

        s.FieldTimes[field] = at;
        return true;
    }

    private static string AddressKey(PostalAddress a) => string.Join('\u001f', a.Line1, a.Line2, a.City, a.PostalCode, a.Country);

    /// <summary>Of two consents for one channel and purpose, the later; at the same moment a refusal wins over a grant,
    /// then the smaller source, so any arrival order gives one answer.</summary>
    private static bool Later(ConsentView candidate, ConsentView current) =>
        candidate.At != current.At ? candidate.At > current.At
        : candidate.Granted != current.Granted ? !candidate.Granted
        : string.CompareOrdinal(candidate.Source, current.Source) < 0;

    /// <summary>Adds a deposit or withdrawal and derives the large-withdrawal flag again from the moves in time order: a
    /// withdrawal of 1,000 or more, of at least half of what the customer held just before it, within the last 90 days.
    /// Only the newest <see cref="MoneyMovesKept"/> moves are kept (the rest as one balance before them), and which ones
    /// those are does not depend on the order they came in.</summary>
    private static void AddMoneyMove(CustomerState s, MoneyMove move, DateTimeOffset now)
    {
        var t = s.Totals;
        if (!t.MoneyTracked)
        {
            // A state from before the moves were kept: everything so far counts as older than what comes now.
            t.MoneyBefore = t.DepositTotal - t.WithdrawalTotal;
            t.MoneyTracked = true;
        }

        var moves = t.MoneyMoves;
        if (moves.Count >= MoneyMovesKept && Earlier(move, moves[0]))
        {
            t.MoneyBefore += move.Amount;
        }
        else
        {
            var index = moves.FindIndex(m => Earlier(move, m));
            moves.Insert(index < 0 ? moves.Count : index, move);
            if (moves.Count > MoneyMovesKept)
            {
                t.MoneyBefore += moves[0].Amount;
                moves.RemoveAt(0);
            }
        }

        DateTimeOffset? flagged = null;
        var held = t.MoneyBefore;
        foreach (var m in moves)
        {
            var amount = -m.Amount;
            if (m.Amount < 0 && amount >= 1000 && amount >= 0.5m * Math.Max(held, 0) && m.At > now.AddDays(-90))
            {
                flagged = m.At;
            }

            held += m.Amount;
        }

        if (flagged is { } at)
        {
            s.RiskFlags[LargeWithdrawalFlag] = at;
        }
        else
        {
            s.RiskFlags.Remove(LargeWithdrawalFlag);
        }
    }

    private static bool Earlier(MoneyMove a, MoneyMove b) =>
        a.At < b.At || (a.At == b.At && string.CompareOrdinal(a.EventId, b.EventId) < 0);

    private static void AddContact(CustomerState s, CustomerEvent e, string direction, string? channelFamily)
    {
        var item = new ContactItem(e.EventId, e.Type, e.Channel ?? channelFamily, direction, e.OccurredAt, e.Data.Agent, e.Data.Campaign, e.Data.Outcome, e.Data.Subject);
        var list = s.RecentContacts;
        var index = list.FindIndex(x => Newer(item, x));
        if (index < 0)
        {
            list.Add(item);
        }
        else
        {
            list.Insert(index, item);
        }

        if (list.Count > RecentContactLimit)
        {
            list.RemoveRange(RecentContactLimit, list.Count - RecentContactLimit);
        }
    }

    private static bool Newer(ContactItem a, ContactItem b) =>
        a.OccurredAt > b.OccurredAt || (a.OccurredAt == b.OccurredAt && string.CompareOrdinal(a.EventId, b.EventId) < 0);

    private static void Touch(Dictionary<string, DateTimeOffset> points, string value, DateTimeOffset at)
    {
        if (!points.TryGetValue(value, out var seen) || at > seen)
        {
            points[value] = at;
        }
    }

    private static string[] Ordered(Dictionary<string, DateTimeOffset> points) =>
        [.. points.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key)];

    /// <summary>Purchases over the last <paramref name="days"/> days up to <paramref name="now"/>, from the daily buckets.</summary>
    public static decimal RollingSpend(TransactionTotals t, DateTimeOffset now, int days)
    {
        var today = DayNumber(now);
        return t.DailySpend.Where(kv => kv.Key > today - days && kv.Key <= today).Sum(kv => kv.Value);
    }

    private static void PruneSpend(TransactionTotals t, DateTimeOffset now)
    {
        var oldest = DayNumber(now) - SpendWindowDays;
        while (t.DailySpend.Count > 0 && t.DailySpend.First().Key <= oldest)
        {
            t.DailySpend.Remove(t.DailySpend.First().Key);
        }
    }

    private static int DayNumber(DateTimeOffset at) => (int)(at.UtcTicks / TimeSpan.TicksPerDay);

    private static DateTimeOffset? Min(DateTimeOffset? a, DateTimeOffset b) => a is { } x && x <= b ? x : b;

    private static DateTimeOffset? Max(DateTimeOffset? a, DateTimeOffset b) => a is { } x && x >= b ? x : b;
}
