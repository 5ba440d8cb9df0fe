using System.Diagnostics;

namespace OrleansCrm.Tests.Support;

/// <summary>Runs a command to completion and returns what it printed (the CRM's own commands, the linter, the client generator).</summary>
public static class Commands
{
    public static async Task<(int ExitCode, string StdOut, string StdErr)> RunAsync(
        string file, IEnumerable<string> arguments, TimeSpan timeout, string? folder = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (folder is not null)
        {
            start.WorkingDirectory = folder;
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
