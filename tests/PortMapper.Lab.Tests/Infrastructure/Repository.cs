namespace PortMapper.Lab.Tests.Infrastructure;

internal static class Repository
{
    public static string Root { get; } = FindRoot();

    /// <summary>
    /// The daemon under test: PORTMAPPER_BIN (./test sets it to the published NativeAOT binary), else the build
    /// output, else the last published binary (an AOT publish leaves no apphost in the build output).
    /// </summary>
    public static string DaemonPath { get; } = FindDaemon();

    private static string FindDaemon()
    {
        if (Environment.GetEnvironmentVariable("PORTMAPPER_BIN") is { Length: > 0 } bin)
        {
            return Path.GetFullPath(bin);
        }

        string built = Path.Combine(Root, "src", "Gateway", "bin", "Release", "net10.0", "linux-x64", "portmapper");
        return File.Exists(built) ? built : Path.Combine(Root, "artifacts", "publish", "portmapper");
    }

    public static string LabScript => Path.Combine(Root, "conformance", "lab", "lab.sh");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "PortMapper.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("PortMapper.sln not found above " + AppContext.BaseDirectory);
    }
}
