using System.Security.Cryptography;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using OrleansCrm.Access;
using OrleansCrm.Hosting.Configuration;
using OrleansCrm.Silo.Storage;

namespace OrleansCrm.Silo.Hosting;

/// <summary>The first administrator: made by <c>create-admin</c>, or on a fresh deployment's first start.</summary>
public static class Administrators
{
    public const string InitialPasswordFile = "initial-admin-password";

    /// <summary><c>create-admin --login NAME [--org-unit UNIT]</c>: the password comes from standard input (one line),
    /// never from the command line where other users' <c>ps</c> would show it. Refused when an administrator exists.</summary>
    public static async Task<int> CreateFromCommandLineAsync(CrmSettings settings, string[] args, TextReader input, TextWriter output)
    {
        string? login = null;
        var orgUnit = "";
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--login" when i + 1 < args.Length:
                    login = args[++i];
                    break;
                case "--org-unit" when i + 1 < args.Length:
                    orgUnit = args[++i];
                    break;
                default:
                    throw new ConfigurationProblemException($"create-admin: unexpected argument \"{args[i]}\" (use --login NAME [--org-unit UNIT], password on standard input)");
            }
        }

        if (Credentials.ValidateLogin(login) is { } loginProblem)
        {
            throw new ConfigurationProblemException($"create-admin: --login {loginProblem}");
        }

        if (OrgUnits.Validate(orgUnit) is { } unitProblem)
        {
            throw new ConfigurationProblemException($"create-admin: --org-unit {unitProblem}");
        }

        var password = (await input.ReadLineAsync())?.TrimEnd('\r');
        if (Credentials.ValidatePassword(password) is { } passwordProblem)
        {
            throw new ConfigurationProblemException($"create-admin: the password on standard input {passwordProblem}");
        }

        await SchemaMigrator.MigrateAsync(settings.Storage);
        await using var store = Store(settings);
        if ((await store.ListUsersAsync()).FirstOrDefault(u => u.Roles.Contains(Roles.Administrator)) is { } existing)
        {
            throw new ConfigurationProblemException($"create-admin: an administrator exists already (\"{existing.Login}\"); sign in as them and add users with POST /api/v1/users");
        }

        var now = DateTimeOffset.UtcNow;
        var user = new UserRecord(login!, new PasswordHasher<UserRecord>().HashPassword(null!, password!), [Roles.Administrator], OrgUnits.Normalise(orgUnit), true, now, now);
        if (!await store.SaveUserAsync(user, create: true))
        {
            throw new ConfigurationProblemException($"create-admin: a user \"{login}\" exists already");
        }

        await output.WriteLineAsync($"administrator \"{login}\" created on {settings.Storage.Kind}");
        return 0;
    }

    /// <summary>
    /// On a deployment with no user at all and no administrator key configured, makes user <c>admin</c> with a random
    /// password written to a file readable only by this account (beside the SQLite database, else beside
    /// cluster.json), so the README's run command leads to a CRM someone can sign in to.
    /// </summary>
    public static async Task EnsureInitialAsync(CrmSettings settings, TextWriter output)
    {
        if (settings.Gateway.AdminKey is not null)
        {
            return;
        }

        await using var store = Store(settings);
        if ((await store.ListUsersAsync()).Length > 0)
        {
            return;
        }

        var password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(15)).Replace('/', 'x').Replace('+', 'y');
        var now = DateTimeOffset.UtcNow;
        var user = new UserRecord("admin", new PasswordHasher<UserRecord>().HashPassword(null!, password), [Roles.Administrator], "", true, now, now);
        var folder = settings.Storage.Kind == StorageKind.Sqlite
            ? Path.GetDirectoryName(new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(settings.Storage.ConnectionString).DataSource)!
            : Path.GetDirectoryName(settings.ConfigPath)!;
        var file = Path.Combine(folder, InitialPasswordFile);
        Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(file, password + Environment.NewLine);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        if (await store.SaveUserAsync(user, create: true))
        {
            // Said on the console (logging starts with the host, after this): the operator starting the CRM reads it.
            await output.WriteLineAsync($"No user existed: made administrator \"admin\"; its password is in {file}. Sign in, add your own users, then change it.");
        }
    }

    private static AdoNetAccessStore Store(CrmSettings settings) =>
        new(settings.Storage, Options.Create(new ClusterOptions { ClusterId = settings.ClusterId, ServiceId = settings.ServiceId }));
}
