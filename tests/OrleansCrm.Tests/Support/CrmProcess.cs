using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace OrleansCrm.Tests.Support;

/// <summary>
/// A real OrleansCrm process (silo or gateway) started from the built binaries with its own cluster.json,
/// exactly as an operator would start it.
/// </summary>
public sealed class CrmProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private CrmProcess(Process process, string name, Uri? http)
    {
        _process = process;
        Name = name;
        Http = http;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Name { get; }

    public Uri? Http { get; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Writes <paramref name="config"/> as cluster.json in <paramref name="folder"/> and starts the program.</summary>
    public static CrmProcess Start(string dll, string folder, JsonObject config, string name, params string[] args)
    {
        Directory.CreateDirectory(folder);
        var configPath = Path.Combine(folder, $"{name}.cluster.json");
        File.WriteAllText(configPath, config.ToJsonString());
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.ArgumentList.Add("--config");
        start.ArgumentList.Add(configPath);
        start.Environment["DOTNET_NOLOGO"] = "1";
        var urls = config["gateway"]?["urls"]?.GetValue<string>();
        var hostsHttp = dll.EndsWith("Gateway.dll", StringComparison.Ordinal) || config["silo"]?["hostGateway"]?.GetValue<bool>() != false;
        return new CrmProcess(Process.Start(start)!, name, hostsHttp && urls is not null ? new Uri(urls) : null);
    }

    /// <summary>Runs a command of the program to completion (e.g. <c>migrate</c>, or a start that must fail).</summary>
    public static Task<(int ExitCode, string StdOut, string StdErr)> RunToExitAsync(string dll, string configPath, TimeSpan timeout, params string[] args) =>
        Commands.RunAsync("dotnet", [dll, .. args, "--config", configPath], timeout);

    public async Task WaitReadyAsync(HttpClient http, TimeSpan timeout)
    {
        var uri = Http ?? throw new InvalidOperationException($"{Name} serves no HTTP");
        await Poll.UntilAsync(
            async () =>
            {
                if (HasExited)
                {
                    throw new InvalidOperationException($"{Name} exited with {ExitCode}:\n{Output}");
                }

                using var response = await http.GetAsync(new Uri(uri, "/health/ready"));
                return response.IsSuccessStatusCode;
            },
            timeout,
            $"{Name} to be ready");
    }

    /// <summary>Asks the process to stop the way a service manager does (SIGTERM) and waits for it to exit.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var cts = new CancellationTokenSource(timeout);
            await _process.WaitForExitAsync(cts.Token);
        }

        return _process.ExitCode;
    }

    /// <summary>Kills the process the way a crash does (SIGKILL): nothing is flushed, no goodbye to the cluster.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try
            {
                await StopAsync(TimeSpan.FromSeconds(20));
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}

/// <summary>Builds cluster.json documents for test processes.</summary>
public static class TestConfig
{
    public static JsonObject Sqlite(string dbFile, int siloPort, int gatewayPort, int httpPort, string clusterId = "test") => Make(
        clusterId,
        new JsonObject { ["kind"] = "sqlite", ["connectionString"] = $"Data Source={dbFile}" },
        siloPort,
        gatewayPort,
        httpPort,
        hostGateway: true);

    public static JsonObject Postgres(string connectionString, int siloPort, int gatewayPort, int httpPort, bool hostGateway, string clusterId = "test") => Make(
        clusterId,
        new JsonObject { ["kind"] = "postgres", ["connectionString"] = connectionString },
        siloPort,
        gatewayPort,
        httpPort,
        hostGateway);

    private static JsonObject Make(string clusterId, JsonObject storage, int siloPort, int gatewayPort, int httpPort, bool hostGateway) => new()
    {
        ["clusterId"] = clusterId,
        ["serviceId"] = "orleans-crm-test",
        ["storage"] = storage,
        ["silo"] = new JsonObject
        {
            ["advertisedAddress"] = "127.0.0.1",
            ["siloPort"] = siloPort,
            ["gatewayPort"] = gatewayPort,
            ["hostGateway"] = hostGateway,
        },
        ["gateway"] = new JsonObject { ["urls"] = $"http://127.0.0.1:{httpPort}", ["callTimeoutSeconds"] = 5, ["adminKey"] = TestAuth.AdminKey, ["requestsPerMinute"] = 10_000_000 },
        ["log"] = new JsonObject { ["level"] = "Information" },
    };

    public static Task<HttpResponseMessage> PutCustomerAsync(this HttpClient http, Uri gateway, string id, object body) =>
        http.PutAsJsonAsync(new Uri(gateway, $"/api/v1/customers/{id}"), body);
}
