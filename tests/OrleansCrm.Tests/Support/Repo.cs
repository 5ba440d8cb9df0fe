namespace OrleansCrm.Tests.Support;

/// <summary>Paths in the source tree, found from the test assembly's location.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    public static string SiloDll => Path.Combine(Root, "silo", "bin", Configuration, "net10.0", "OrleansCrm.Silo.dll");

    public static string GatewayDll => Path.Combine(Root, "gateway", "bin", Configuration, "net10.0", "OrleansCrm.Gateway.dll");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OrleansCrm.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("OrleansCrm.sln not found above " + AppContext.BaseDirectory);
    }
}
