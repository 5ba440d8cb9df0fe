using System.Globalization;
using System.Text;
using OrleansCrm.Bench.Load;

namespace OrleansCrm.Bench.Suite;

/// <summary>The Markdown of a suite run.</summary>
public static class SuiteReport
{
    public static string Markdown(SuiteFigures f)
    {
        var sb = new StringBuilder();
        void Line(FormattableString text) => sb.AppendLine(text.ToString(CultureInfo.InvariantCulture));
        var o = f.Options;
        var p = f.Population;
        Line($"# Benchmark suite: {p.Customers:N0} customers, CRM against a three-tier baseline — {f.StartedAt.UtcDateTime:yyyy-MM-dd HH:mm} UTC");
        sb.AppendLine();
        Line($"Machine: {f.Machine}. PostgreSQL on the same machine ({f.Database}); the CRM and the baseline use the same server and database.");
        Line($"One CRM silo with its HTTP gateway, the baseline's HTTP tier and the load generator all run in the bench process (`--scenario suite --customers {p.Customers} --seed {p.Seed}`; {(f.FinishedAt - f.StartedAt).TotalMinutes:0.0} minutes).");
        sb.AppendLine();
        sb.AppendLine("## Population");
        sb.AppendLine();
        Line($"{p.Customers:N0} synthetic customers from seed {p.Seed} (names, e-mail, phone, birth date, address, region, tier, tags, marketing consent per channel), {p.Events:N0} events in all: {p.EventsPerCustomerMean:0.0} per customer on average, median {p.EventsPerCustomerP50}, p90 {p.EventsPerCustomerP90}, p99 {p.EventsPerCustomerP99}, most {p.EventsPerCustomerMax}; {p.ShareWith30OrMoreEvents * 100:0.0}% have 30 or more. Purchases, deposits and withdrawals with amounts and channels; calls in and out with agents and outcomes, e-mails opened and clicked, web visits; moves, new phones and e-mails; consent given and withdrawn. {p.DistinctSurnames:N0} surnames, the commonest held by {p.CommonestSurnameHolders:N0} customers.");
        Line($"Baseline rows: {p.Customers:N0} customers, {p.BaselineContacts:N0} contacts, {p.BaselineTransactions:N0} transactions.");
        sb.AppendLine();
        sb.AppendLine("| step | time |");
        sb.AppendLine("|---|---:|");
        Line($"| CRM: COPY of the histories into the event log (then VACUUM ANALYZE) | {f.Seeding.CrmLogCopySeconds:0.0} s |");
        Line($"| baseline: COPY into the three tables | {f.Seeding.BaselineCopySeconds:0.0} s |");
        Line($"| baseline: keys, indexes, foreign keys, ANALYZE | {f.Seeding.BaselineIndexSeconds:0.0} s |");
        Line($"| CRM: first wake of every customer ({f.WarmUp.Concurrency} at a time; each rebuilds from its log and claims its e-mail, phone and name in the lookup index) | {f.WarmUp.Seconds:0.0} s ({f.WarmUp.CustomersPerSecond:0}/s; per wake p50 {f.WarmUp.ColdWake.P50:0.0} ms, p99 {f.WarmUp.ColdWake.P99:0.0} ms) |");
        Line($"| both: VACUUM ANALYZE of the database (so autovacuum does not run during the measurements) | {f.WarmUp.SettleSeconds:0.0} s |");
        sb.AppendLine();
        Line($"All measurements below are on a warm CRM: every customer was woken once first (and the bench's silo keeps idle customers active for two hours). Managed heap per activated customer: {f.WarmUp.HeapBytesPerCustomer / 1024:0.0} KiB right after the wake, {(f.WarmUp.HeapBytesPerCustomerAtEnd ?? 0) / 1024:0.0} KiB at the end of the measurements. The baseline's tables were just written and read back by the index builds; they are in the OS page cache (PostgreSQL's own shared_buffers is as listed above).");
        Line($"Cross-check: for {f.CrossCheck.Sampled} sampled customers the CRM's view and the baseline's agree on names, contact points, region, address, consent, purchase count and total, first and last purchase, 30/90/365-day spend, deposits, withdrawals and the recent contacts in order: **{f.CrossCheck.Agreeing} of {f.CrossCheck.Sampled} agree**.");
        foreach (var d in f.CrossCheck.Differences)
        {
            Line($"- {d}");
        }

        sb.AppendLine();
        sb.AppendLine("## Ratios");
        sb.AppendLine();
        sb.AppendLine("Both over HTTP (the CRM's gateway; the baseline's minimal endpoints in the same process), open loop, latency from each request's intended start (corrected for coordinated omission). CRM ÷ baseline.");
        sb.AppendLine();
        sb.AppendLine("| scenario | p99 target | CRM max rate | baseline max rate | **throughput at equal p99** | equal load | CRM p99 | baseline p99 | **p99 at equal load** |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in f.Ratios)
        {
            Line($"| {r.Scenario} | {r.P99TargetMs:0.##} ms | {r.CrmMaxRate:N0}/s | {r.BaselineMaxRate:N0}/s | **{r.ThroughputAtEqualP99:0.00}×** | {Opt(r.EqualLoadRate, "N0")}/s | {Opt(r.CrmP99, "0.00")} ms | {Opt(r.BaselineP99, "0.00")} ms | **{Opt(r.P99AtEqualLoad, "0.00")}×** |");
        }

        sb.AppendLine();
        Line($"Throughput at equal p99: for each system the highest offered rate whose p99 stayed within the target, at least 95% of it answered inside the step and at most 0.1% failing ({o.StepSeconds} s steps after {o.WarmUpSeconds} s unmeasured; doubling from a quarter of the closed-loop rate, then bisecting to {o.Resolution * 100:0}%; {(o.Retries == 0 ? "a failed rate is not tried again" : (o.Retries == 1 ? "a failed rate is tried once more and fails only if both tries fail" : $"a failed rate is tried up to {o.Retries} more times and fails only if every try fails"))}). p99 at equal load: both run at {o.EqualLoadShare * 100:0}% of the lower of the two max rates, two {o.StepSeconds} s rounds each, alternating, latencies merged; below 1× the CRM's p99 is lower. The two searches take turns step by step, so a busy spell of the machine falls on both.");
        var view = f.Searches.FirstOrDefault(x => x.System == "CRM" && x.Scenario == "view");
        var top = f.Searches.FirstOrDefault(x => x.System == "CRM" && x.Scenario == "authenticated ceiling");
        var nba = f.Searches.FirstOrDefault(x => x.System == "CRM" && x.Scenario == "next-best-action");
        if (view is not null && top is not null && view.Search.MaxRate > 0)
        {
            sb.AppendLine();
            Line($"The gateway's own ceiling at the same p99 target (`GET /api/v1/auth/me`: authentication, rate limiting, policy and access filter, no grain call, no audit record): **{top.Search.MaxRate:N0}/s**; the view reaches {view.Search.MaxRate / top.Search.MaxRate:0.00} of it (the ceiling is **{top.Search.MaxRate / view.Search.MaxRate:0.00}×** the view){(nba is null ? "" : $", next-best-action {nba.Search.MaxRate:N0}/s")}.");
        }

        sb.AppendLine();
        sb.AppendLine("## Closed loop");
        sb.AppendLine();
        Line($"{o.Concurrency} callers, each sending its next request when the last is answered, {o.Seconds} s after {o.WarmUpSeconds} s unmeasured.");
        sb.AppendLine();
        sb.AppendLine("| scenario | system | path | throughput | p50 | p90 | p99 | p99.9 | max | errors | GC pauses |");
        sb.AppendLine("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in f.ClosedLoop)
        {
            var l = r.Result.Latency;
            Line($"| {r.Scenario} | {r.System} | {r.Path} | {r.Result.Throughput:N0}/s | {l.P50:0.000} ms | {l.P90:0.000} ms | {l.P99:0.000} ms | {l.P999:0.000} ms | {l.Max:0.0} ms | {r.Result.Errors} | {Gc(r.Result.Gc)} |");
        }

        sb.AppendLine();
        if (f.Wal is { } wal)
        {
            Line($"WAL written per ingested event (PostgreSQL `pg_current_wal_lsn()` before and 6 s after each system's direct ingest run, divided by the events sent): CRM {wal.CrmBytesPerEvent:N0} bytes ({wal.CrmEvents:N0} events, its lagging snapshots included), baseline {wal.BaselineBytesPerEvent:N0} bytes ({wal.BaselineEvents:N0} events).");
            sb.AppendLine();
        }

        sb.AppendLine("## Open loop: the searches");
        sb.AppendLine();
        foreach (var s in f.Searches)
        {
            Line($"**{s.Search.Name}**, p99 ≤ {s.Search.P99TargetMs:0.##} ms: **{s.Search.MaxRate:N0}/s**");
            sb.AppendLine();
            Steps(sb, s.Search.Steps);
        }

        if (f.EqualLoad.Count > 0)
        {
            sb.AppendLine("## Open loop: equal load");
            sb.AppendLine();
            sb.AppendLine("| scenario | system | offered | achieved | p50 | p90 | p99 | p99.9 | max | errors | generator lag p99 | GC pauses |");
            sb.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var e in f.EqualLoad)
            {
                foreach (var (system, step) in new[] { ("CRM", e.Crm), ("baseline", e.Baseline) })
                {
                    var l = step.Latency;
                    Line($"| {e.Scenario} | {system} | {step.Offered:N0}/s | {step.Achieved:N0}/s | {l.P50:0.000} ms | {l.P90:0.000} ms | {l.P99:0.000} ms | {l.P999:0.000} ms | {l.Max:0.0} ms | {step.Errors} | {step.DispatchLagP99:0.00} ms | {Gc(step.Gc)} |");
                }
            }

            sb.AppendLine();
        }

        sb.AppendLine("## What differs between the two");
        sb.AppendLine();
        sb.AppendLine("- The CRM's gateway authenticates every request (the administrator's API key), checks it against the endpoint's policy, counts it against the caller's rate limit (set high enough never to refuse here) and writes an audit record of each read and change of customer data. The baseline's endpoints validate the request and call the database, nothing else. Measured on this machine, access and audit cost the CRM's HTTP view about a third of its throughput (bench/results/access-cost-postgres-20261124.md).");
        sb.AppendLine("- The CRM's view computes scores, RFM and next-best-action over 20 offers at each read, and lists segments, open cases, products and alerts; the baseline's view returns profile, contact points, consent, the 50 latest contacts (as many as the CRM keeps), the 20 latest transactions (which the CRM's view does not list) and the same totals and spend windows, computed by four queries in one round trip.");
        sb.AppendLine("- Ingest: the CRM appends the event to its log and writes the customer's state (two commits), then answers with the updated view; the baseline inserts the transaction row (ignored if the event id is known) and updates the customer's purchase summary in one transaction, and answers with an acknowledgement.");
        sb.AppendLine("- Next-best-action has no baseline: a relational CRM would need a scoring service beside the database. Its rows are the CRM's alone.");
        sb.AppendLine("- The load generator, both HTTP tiers and the CRM's silo share the bench process and, with PostgreSQL, the machine's cores; on a 2-core machine the generator's own work is part of every figure, equally for both systems. The generator's lag (how late it sent, p99) is listed with each open-loop step.");

        if (f.SegmentsMarkdown is not null || f.CampaignMarkdown is not null)
        {
            sb.AppendLine();
            sb.AppendLine("The segment and campaign scenarios below ran after the measurements above, each in a silo on a database of its own with the population it checks its counts against (two events per customer), not the suite's.");
        }

        if (f.SegmentsMarkdown is not null)
        {
            sb.AppendLine();
            sb.AppendLine(Demote(f.SegmentsMarkdown));
        }

        if (f.CampaignMarkdown is not null)
        {
            sb.AppendLine();
            sb.AppendLine(Demote(f.CampaignMarkdown));
        }

        return sb.ToString();
    }

    private static void Steps(StringBuilder sb, IReadOnlyList<OpenLoopStep> steps)
    {
        sb.AppendLine("| offered | achieved | p50 | p90 | p99 | p99.9 | max | errors | generator lag p99 | GC pauses | result |");
        sb.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var s in steps)
        {
            var l = s.Latency;
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {s.Offered:N0}/s | {s.Achieved:N0}/s | {l.P50:0.000} ms | {l.P90:0.000} ms | {l.P99:0.000} ms | {l.P999:0.000} ms | {l.Max:0.0} ms | {s.Errors} | {s.DispatchLagP99:0.00} ms | {Gc(s.Gc)} | {(s.Passed ? "pass" : s.Failure)} |");
        }

        sb.AppendLine();
    }

    /// <summary>Total pause time of the bench process's collections during the measurement, and how many were gen2.</summary>
    private static string Gc(GcFigures? gc) => gc is null ? "–" : string.Create(CultureInfo.InvariantCulture, $"{gc.PauseMs:0} ms ({gc.Gen2} gen2)");

    private static string Opt(double? value, string format) => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "–";

    /// <summary>A scenario's own report as a section of this one.</summary>
    private static string Demote(string markdown) => markdown.StartsWith("# ", StringComparison.Ordinal) ? "#" + markdown : markdown;
}
