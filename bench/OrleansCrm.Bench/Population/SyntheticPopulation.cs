using System.Globalization;
using OrleansCrm.Customers;

namespace OrleansCrm.Bench.Population;

/// <summary>One synthetic customer: its id and its history, oldest first.</summary>
public sealed record SyntheticCustomer(string Id, CustomerEvent[] Events);

/// <summary>
/// A population of customers whose every field follows from (seed, index), with times relative to
/// <see cref="Now"/>: the same arguments give the same customers, so the CRM's event log and the baseline's tables
/// are loaded with the same people without holding them in memory. History lengths are skewed (log-normal): most
/// customers have a handful of events, a few have dozens.
/// </summary>
public sealed class SyntheticPopulation(int seed, DateTimeOffset now)
{
    public const string Source = "bench-seed";

    private static readonly string[] FirstNames =
    [
        "Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Noah", "Mia", "Jack", "Ivy", "Leo", "Lily", "Arthur", "Florence",
        "Muhammad", "Freya", "Oscar", "Ella", "Charlie", "Grace", "Jacob", "Sophia", "Thomas", "Evie", "Henry", "Alice",
        "William", "Emily", "James", "Poppy", "Alfie", "Rosie", "Joshua", "Chloe", "Freddie", "Daisy", "Archie", "Sienna",
        "Ethan", "Harper", "Isaac", "Ruby", "Mohammed", "Matilda", "Daniel", "Evelyn", "Samuel", "Isabella", "Joseph",
        "Elsie", "Adam", "Maya", "Lucas", "Aria", "Theo", "Zara", "Sebastian", "Hannah", "Benjamin", "Sofia", "Zoë", "Chloé",
    ];

    /// <summary>Common surnames, shared by <see cref="CommonSurnameShare"/> of the population.</summary>
    private static readonly string[] CommonSurnames =
    [
        "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright", "Thompson",
        "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke", "Patel", "Khan", "Lewis",
        "James", "Phillips", "Mason", "Mitchell", "Rose", "Davis", "Rodríguez", "Cox", "Alexander", "Morgan", "Moore",
        "Mills", "King", "Allen", "Young", "Scott", "Baker", "Turner", "Harris", "Martin", "Cooper", "Hill", "Ward",
        "Morris", "Hughes", "Clark", "Lee", "Watson", "Carter", "Anderson", "Singh", "Murphy", "O'Brien", "Kelly", "Begum",
        "Nowak", "Müller",
    ];

    private const double CommonSurnameShare = 0.03;

    // The long tail: surnames built from place-name parts (48 × 12 × 32 ≈ 18,000), so no single name-lookup entry
    // of the CRM gathers a large share of a million customers.
    private static readonly string[] Prefixes =
    [
        "Ash", "Black", "Brad", "Brook", "Craw", "Dal", "East", "Fair", "Gold", "Green", "Hart", "Hol", "King", "Lang", "Marsh",
        "Mid", "New", "North", "Oak", "Pen", "Red", "Ross", "Rush", "Shel", "Stan", "Stock", "Thorn", "Wake", "West", "Whit",
        "Wind", "Win", "Bar", "Bel", "Cal", "Dun", "Elm", "Fen", "Gar", "Har", "Kir", "Lox", "Mor", "Nor", "Pol", "Rad", "Sal", "Tre",
    ];

    private static readonly string[] Middles = ["", "er", "en", "ing", "el", "an", "ham", "wood", "ly", "s", "ring", "ton"];

    private static readonly string[] Suffixes =
    [
        "by", "combe", "dale", "don", "field", "ford", "gate", "ham", "hill", "hurst", "ington", "land", "ley", "low", "more",
        "ridge", "stead", "ston", "ton", "well", "wick", "wood", "worth", "shaw", "bury", "croft", "den", "holme", "mere",
        "sall", "thwaite", "wright",
    ];

    private static readonly (string Region, string City, double Weight)[] Regions =
    [
        ("london", "London", 0.2), ("south-east", "Brighton", 0.14), ("south-west", "Bristol", 0.09), ("midlands", "Birmingham", 0.16),
        ("north-west", "Manchester", 0.12), ("north-east", "Newcastle", 0.07), ("yorkshire", "Leeds", 0.09), ("scotland", "Glasgow", 0.08),
        ("wales", "Cardiff", 0.05),
    ];

    private static readonly string[] Domains = ["example.com", "example.org", "example.net", "mail.example.co.uk"];
    private static readonly string[] Streets = ["High Street", "Station Road", "Church Lane", "Mill Road", "Park Avenue", "Victoria Road", "Green Lane", "Manor Close"];
    private static readonly string[] Categories = ["groceries", "electronics", "clothing", "home", "travel", "books", "sports", "beauty"];
    private static readonly string[] Campaigns = ["spring-sale", "loyalty-points", "new-card", "summer-travel", "black-friday", "renewal-reminder"];
    private static readonly string[] Subjects = ["billing", "delivery", "returns", "account access", "card lost", "address change", "product question"];
    private static readonly string[] Pages = ["/offers", "/account", "/products/cards", "/products/savings", "/help/delivery", "/basket"];
    private static readonly string[] Tiers = ["bronze", "silver", "gold", "platinum"];
    private static readonly string[] TagPool = ["newsletter", "app-user", "student", "vip", "paperless"];

    public int Seed { get; } = seed;

    /// <summary>The instant histories are relative to: no event is later.</summary>
    public DateTimeOffset Now { get; } = new(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);

    public static string CustomerId(int index) => "p" + index.ToString("D7", CultureInfo.InvariantCulture);

    public SyntheticCustomer Customer(int index)
    {
        var rnd = new Random(Mix(Seed, index));
        var id = CustomerId(index);
        var events = new List<CustomerEvent>(16);

        var first = FirstNames[rnd.Next(FirstNames.Length)];
        var last = Surname(rnd);
        var (region, city, _) = Pick(rnd, Regions);
        var since = Now - TimeSpan.FromDays(30 + (rnd.NextDouble() * 6 * 365));
        var tier = Tiers[Math.Min(Tiers.Length - 1, (int)Math.Floor(Math.Pow(rnd.NextDouble(), 2.5) * Tiers.Length))];
        var tags = TagPool.Where(_ => rnd.NextDouble() < 0.2).ToArray();
        var email = $"{Ascii(first)}.{Ascii(last)}.{index}@{Domains[rnd.Next(Domains.Length)]}".ToLowerInvariant();
        var profile = new CustomerProfile(
            FirstName: first,
            LastName: last,
            Email: email,
            Phone: "+4474" + index.ToString("D8", CultureInfo.InvariantCulture),
            BirthDate: new DateOnly(1940 + rnd.Next(66), 1 + rnd.Next(12), 1 + rnd.Next(28)),
            Address: Address(rnd, city),
            Region: region,
            PreferredChannel: rnd.NextDouble() < 0.6 ? "email" : rnd.NextDouble() < 0.5 ? "sms" : "phone",
            Attributes: new Dictionary<string, string>(StringComparer.Ordinal) { ["tier"] = tier, ["kind"] = rnd.NextDouble() < 0.9 ? "retail" : "business" },
            Tags: tags.Length == 0 ? null : tags);
        events.Add(new CustomerEvent("pf-0", CustomerEventTypes.ProfileChanged, since, Source, null, new EventData(Profile: profile)));

        var consentAt = since + TimeSpan.FromMinutes(5);
        foreach (var (channel, share) in new[] { ("email", 0.7), ("sms", 0.45), ("phone", 0.35) })
        {
            events.Add(Consent("cs-" + channel, consentAt, channel, rnd.NextDouble() < share));
        }

        if (rnd.NextDouble() < 0.1)
        {
            events.Add(Consent("cs-email-2", Between(rnd, since), "email", granted: false));
        }

        if (rnd.NextDouble() < 0.2)
        {
            var (movedRegion, movedCity, _) = Pick(rnd, Regions);
            events.Add(ProfileChange("pf-move", Between(rnd, since), new CustomerProfile(Address: Address(rnd, movedCity), Region: movedRegion)));
        }

        if (rnd.NextDouble() < 0.1)
        {
            events.Add(ProfileChange("pf-phone", Between(rnd, since), new CustomerProfile(Phone: "+4475" + index.ToString("D8", CultureInfo.InvariantCulture))));
        }

        if (rnd.NextDouble() < 0.05)
        {
            events.Add(ProfileChange("pf-email", Between(rnd, since), new CustomerProfile(Email: $"{Ascii(first)}{index}@{Domains[rnd.Next(Domains.Length)]}".ToLowerInvariant())));
        }

        var transactions = SkewedCount(rnd, median: 3, sigma: 1.0, max: 150);
        for (var k = 0; k < transactions; k++)
        {
            events.Add(Transaction(rnd, "tx-" + k.ToString(CultureInfo.InvariantCulture), Between(rnd, since)));
        }

        var contacts = SkewedCount(rnd, median: 2, sigma: 1.1, max: 150);
        for (var k = 0; k < contacts; k++)
        {
            events.Add(Contact(rnd, "ct-" + k.ToString(CultureInfo.InvariantCulture), Between(rnd, since)));
        }

        events.Sort((a, b) => a.OccurredAt != b.OccurredAt ? a.OccurredAt.CompareTo(b.OccurredAt) : string.CompareOrdinal(a.EventId, b.EventId));
        return new SyntheticCustomer(id, [.. events]);
    }

    /// <summary>A purchase for the ingest scenarios: within the last week, so it counts in every spend window.</summary>
    public static CustomerEvent Purchase(string eventId, DateTimeOffset now, Random rnd) =>
        new(eventId, CustomerEventTypes.Purchase, Seconds(now - TimeSpan.FromMinutes(rnd.Next(7 * 24 * 60))), "bench", "web",
            new EventData(Amount: Money(rnd, 35, 0.9), Category: Categories[rnd.Next(Categories.Length)]));

    private static CustomerEvent Transaction(Random rnd, string eventId, DateTimeOffset at)
    {
        var roll = rnd.NextDouble();
        var channel = roll < 0.45 ? "web" : roll < 0.7 ? "app" : roll < 0.9 ? "pos" : "branch";
        return rnd.NextDouble() switch
        {
            < 0.9 => new(eventId, CustomerEventTypes.Purchase, at, Source, channel,
                new EventData(Amount: Money(rnd, 35, 0.9), Quantity: 1 + (int)Math.Floor(Math.Pow(rnd.NextDouble(), 3) * 5), Category: Categories[rnd.Next(Categories.Length)])),
            < 0.95 => new(eventId, CustomerEventTypes.Deposit, at, Source, channel == "pos" ? "branch" : channel, new EventData(Amount: Money(rnd, 500, 0.8))),
            _ => new(eventId, CustomerEventTypes.Withdrawal, at, Source, channel == "pos" ? "branch" : channel, new EventData(Amount: Money(rnd, 200, 0.8))),
        };
    }

    private static CustomerEvent Contact(Random rnd, string eventId, DateTimeOffset at)
    {
        var agent = "agent-" + rnd.Next(1, 120).ToString("D3", CultureInfo.InvariantCulture);
        return rnd.NextDouble() switch
        {
            < 0.30 => new(eventId, CustomerEventTypes.CallInbound, at, Source, "phone",
                new EventData(Agent: agent, Outcome: Pick(rnd, ["resolved", "resolved", "resolved", "callback", "transferred", "abandoned"]), Subject: Subjects[rnd.Next(Subjects.Length)])),
            < 0.40 => new(eventId, CustomerEventTypes.CallOutbound, at, Source, "phone",
                new EventData(Agent: agent, Outcome: Pick(rnd, ["answered", "answered", "no-answer", "voicemail"]), Campaign: rnd.NextDouble() < 0.5 ? Campaigns[rnd.Next(Campaigns.Length)] : null)),
            < 0.65 => new(eventId, CustomerEventTypes.EmailOpened, at, Source, "email", new EventData(Campaign: Campaigns[rnd.Next(Campaigns.Length)])),
            < 0.75 => new(eventId, CustomerEventTypes.EmailClicked, at, Source, "email",
                new EventData(Campaign: Campaigns[rnd.Next(Campaigns.Length)], Url: "https://shop.example.com" + Pages[rnd.Next(Pages.Length)])),
            _ => new(eventId, CustomerEventTypes.WebVisit, at, Source, "web", new EventData(Url: "https://shop.example.com" + Pages[rnd.Next(Pages.Length)])),
        };
    }

    private static CustomerEvent Consent(string eventId, DateTimeOffset at, string channel, bool granted) =>
        new(eventId, CustomerEventTypes.ConsentChanged, at, Source, channel, new EventData(Purpose: "marketing", Granted: granted));

    private static CustomerEvent ProfileChange(string eventId, DateTimeOffset at, CustomerProfile profile) =>
        new(eventId, CustomerEventTypes.ProfileChanged, at, Source, null, new EventData(Profile: profile));

    private static PostalAddress Address(Random rnd, string city) =>
        new($"{1 + rnd.Next(180)} {Streets[rnd.Next(Streets.Length)]}", null, city, $"{(char)('A' + rnd.Next(26))}{(char)('A' + rnd.Next(26))}{1 + rnd.Next(20)} {rnd.Next(10)}{(char)('A' + rnd.Next(26))}{(char)('A' + rnd.Next(26))}", "GB");

    private static string Surname(Random rnd) => rnd.NextDouble() < CommonSurnameShare
        ? CommonSurnames[rnd.Next(CommonSurnames.Length)]
        : Prefixes[rnd.Next(Prefixes.Length)] + Middles[rnd.Next(Middles.Length)] + Suffixes[rnd.Next(Suffixes.Length)];

    /// <summary>A time between <paramref name="since"/> and now, weighted towards recent (customers are more active
    /// lately than when they joined), to the second.</summary>
    private DateTimeOffset Between(Random rnd, DateTimeOffset since) =>
        Seconds(since + ((Now - since) * Math.Pow(rnd.NextDouble(), 0.6)));

    private static DateTimeOffset Seconds(DateTimeOffset t) => new(t.UtcTicks - (t.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);

    private static int SkewedCount(Random rnd, double median, double sigma, int max) =>
        Math.Min(max, (int)Math.Floor(median * Math.Exp(sigma * Gaussian(rnd))));

    private static decimal Money(Random rnd, double median, double sigma) =>
        Math.Round((decimal)Math.Clamp(median * Math.Exp(sigma * Gaussian(rnd)), 0.5, 50_000), 2);

    private static double Gaussian(Random rnd) =>
        Math.Sqrt(-2 * Math.Log(1 - rnd.NextDouble())) * Math.Cos(2 * Math.PI * rnd.NextDouble());

    /// <summary>A per-customer seed (SplitMix64 finaliser): stable across processes, unlike <see cref="HashCode"/>.</summary>
    private static int Mix(int seed, int index)
    {
        var z = ((ulong)(uint)seed << 32) | (uint)index;
        z += 0x9E3779B97F4A7C15;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return (int)(z ^ (z >> 31));
    }

    private static T Pick<T>(Random rnd, T[] items) => items[rnd.Next(items.Length)];

    private static (string Region, string City, double Weight) Pick(Random rnd, (string Region, string City, double Weight)[] weighted)
    {
        var roll = rnd.NextDouble() * weighted.Sum(w => w.Weight);
        foreach (var item in weighted)
        {
            roll -= item.Weight;
            if (roll <= 0)
            {
                return item;
            }
        }

        return weighted[^1];
    }

    /// <summary>Letters of a name as they would appear in an e-mail address.</summary>
    private static string Ascii(string name) => new([.. ContactPoints.Name(name).Where(char.IsAsciiLetter)]);
}
