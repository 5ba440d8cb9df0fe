using OrleansCrm.Hosting.Configuration;

namespace OrleansCrm.Hosting;

/// <summary>
/// The shared shape of every OrleansCrm process's Main: configuration and start-up mistakes become one line on
/// standard error and a non-zero exit code instead of a stack trace.
/// </summary>
public static class CrmProgram
{
    public const int ExitConfiguration = 2;
    public const int ExitStartup = 3;

    public static async Task<int> RunAsync(string[] args, Func<CrmSettings, string, string[], Task<int>> body)
    {
        try
        {
            var path = CrmConfiguration.LocateFile(args);
            var rest = CrmConfiguration.WithoutConfigSwitch(args);
            var settings = CrmConfiguration.Load(args);
            return await body(settings, path, rest);
        }
        catch (ConfigurationProblemException e)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}");
            return ExitConfiguration;
        }
        catch (StartupProblemException e)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}");
            return ExitStartup;
        }
    }
}

/// <summary>Something outside the configuration file stops the process from starting (the database is unreachable).</summary>
public sealed class StartupProblemException(string message, Exception? inner = null) : Exception(message, inner);
