using System.Net;
using Orleans.Configuration;
using Orleans.Dashboard;
using Orleans.Storage;
using OrleansCrm.Customers;
using OrleansCrm.Decisions;
using OrleansCrm.Segments;
using OrleansCrm.Hosting.Configuration;
using OrleansCrm.Silo.Storage;

namespace OrleansCrm.Silo.Hosting;

public static class SiloExtensions
{
    /// <summary>
    /// An Orleans silo on the configured storage: ADO.NET clustering, grain storage and reminders on the same
    /// database (an SQLite file or PostgreSQL), and a stream provider whose subscriptions are stored there too.
    /// </summary>
    public static IHostApplicationBuilder AddCrmSilo(this IHostApplicationBuilder builder, CrmSettings settings)
    {
        var storage = Tuned(settings.Storage);
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = settings.ClusterId;
                o.ServiceId = settings.ServiceId;
            });
            silo.ConfigureEndpoints(
                IPAddress.Parse(settings.Silo.AdvertisedAddress),
                settings.Silo.SiloPort,
                settings.Silo.GatewayPort,
                listenOnAnyHostAddress: settings.Silo.ListenOnAnyAddress);

            // Until the others declare a crashed silo dead (about three missed probes), its customers do not answer.
            // Orleans' 5 s probes took 12-14 s to recover here; 2 s probes 3-5 s (docs/operations.md).
            silo.Configure<ClusterMembershipOptions>(o => o.ProbeTimeout = settings.Silo.Probe);
            silo.UseAdoNetClustering(o =>
            {
                o.Invariant = storage.Invariant;
                o.ConnectionString = storage.ConnectionString;
            });
            silo.AddCrmStorage(storage);
            silo.AddIncomingGrainCallFilter<CorrelationCallFilter>();
            if (settings.Gateway.Dashboard)
            {
                silo.AddDashboard();
            }
        });
        return builder;
    }

    /// <summary>Everything grains need but clustering (the caller's choice): grain storage, reminders and streams on
    /// <paramref name="storage"/>, the event log, and the silo's copy of the decision documents.</summary>
    public static ISiloBuilder AddCrmStorage(this ISiloBuilder silo, StorageSettings storage)
    {
        storage = Tuned(storage);
        // Grain state goes through the silo's group-commit writer; Orleans' own ADO.NET provider stays only to read
        // (and then remove) states that earlier versions stored, as each grain next writes.
        silo.Services.AddKeyedSingleton<IGrainStorage>(StorageNames.Crm, (sp, _) => new BatchedGrainStorage(
            sp.GetRequiredService<GroupCommitWriter>(), sp.GetRequiredService<Orleans.Serialization.Serializer>(), sp));
        silo.AddAdoNetGrainStorage(BatchedGrainStorage.LegacyStorageName, o =>
        {
            o.Invariant = storage.Invariant;
            o.ConnectionString = storage.ConnectionString;

            // A cleared state leaves no row: a contact index entry's key is the e-mail or phone it indexes, and an
            // erasure must not leave that behind (docs/privacy.md).
            o.DeleteStateOnClear = true;
        });
        silo.AddAdoNetGrainStorage(StorageNames.PubSub, o =>
        {
            o.Invariant = storage.Invariant;
            o.ConnectionString = storage.ConnectionString;
        });
        silo.UseAdoNetReminderService(o =>
        {
            o.Invariant = storage.Invariant;
            o.ConnectionString = storage.ConnectionString;
        });
        silo.AddMemoryStreams(StorageNames.Streams);
        silo.Services.AddSingleton(TimeProvider.System);
        silo.Services.AddSingleton(storage);
        silo.Services.AddSingleton<GroupCommitWriter>();
        silo.Services.AddSingleton<ICustomerWriter>(sp => sp.GetRequiredService<GroupCommitWriter>());
        silo.Services.AddSingleton<ICustomerLog, AdoNetCustomerLog>();
        silo.Services.AddSingleton<AdoNetContactIndex>();
        silo.Services.AddSingleton<IContactIndex>(sp => sp.GetRequiredService<AdoNetContactIndex>());
        silo.Services.AddSingleton<ISegmentStore, AdoNetSegmentStore>();
        silo.Services.AddSingleton<OrleansCrm.Decisions.IOfferOutcomeStore, AdoNetOfferOutcomeStore>();
        silo.Services.AddSingleton<OrleansCrm.Api.IKeptAnswerIndex, AdoNetKeptAnswerIndex>();
        silo.Services.AddSingleton<OrleansCrm.Access.IAccessStore, AdoNetAccessStore>();
        silo.Services.AddSingleton<OrleansCrm.Campaigns.ICampaignActionStore, AdoNetCampaignActionStore>();
        silo.Services.AddSingleton<DecisionCatalog>();
        silo.Services.AddHostedService(sp => sp.GetRequiredService<DecisionCatalog>());
        silo.AddGrainService<DecisionCatalogService>();
        silo.Services.AddSingleton<ISiloCatalogs, SiloCatalogs>();

        // Before the silo joins: lookup index entries that earlier versions kept as grain states become rows.
        silo.AddStartupTask(
            (services, cancellation) => services.GetRequiredService<AdoNetContactIndex>().MigrateGrainStatesAsync(services, cancellation),
            ServiceLifecycleStage.BecomeActive - 1);
        silo.AddStartupTask(async (services, _) =>
        {
            var grains = services.GetRequiredService<IGrainFactory>();
            await DefaultDecisions.InstallAsync(grains);
            await grains.GetGrain<IRfmGrain>(0).EnsureScheduledAsync();
            await grains.GetGrain<OrleansCrm.Campaigns.IWebhookDeliveryGrain>(0).EnsureRunningAsync();
            await grains.GetGrain<OrleansCrm.Campaigns.ICapacityPlannerGrain>(0).EnsureRunningAsync();
        });
        return silo;
    }

    /// <summary>
    /// The connection string the silo uses. On PostgreSQL, a connection handed back to the pool is not reset
    /// (<c>No Reset On Close</c>) unless the operator's string says otherwise: Npgsql's reset is seven statements
    /// (DISCARD SEQUENCES, UNLISTEN, CLOSE ALL, …, because the prepared statements are kept) sent with the next command,
    /// and a first wake opened six connections: 43 extra statements per new customer, measured with pg_stat_statements
    /// (bench/import.sh, STATEMENTS=1). The CRM keeps no session state: its only locks are transaction-scoped.
    /// </summary>
    public static StorageSettings Tuned(StorageSettings storage)
    {
        if (storage.Kind != StorageKind.Postgres)
        {
            return storage;
        }

        var builder = new Npgsql.NpgsqlConnectionStringBuilder(storage.ConnectionString);
        if (!storage.ConnectionString.Contains("reset", StringComparison.OrdinalIgnoreCase))
        {
            builder.NoResetOnClose = true;
        }

        return storage with { ConnectionString = builder.ConnectionString };
    }
}
