using PortMapper.Fuzz;

// pm-fuzz list                       the targets, one per line with what each covers
// pm-fuzz run TARGET                 under afl-fuzz (SharpFuzz's fork server; conformance/fuzz/fuzz.sh starts it)
// pm-fuzz replay TARGET PATH...      each file (or every file of each directory) through the target; exit 1 on a failure
if (args is ["list"])
{
    foreach (FuzzTarget target in FuzzTargets.All)
    {
        Console.WriteLine($"{target.Name,-14} {target.Covers}");
    }

    return 0;
}

if (args is ["run", string name] && FuzzTargets.Find(name) is { } run)
{
    SharpFuzz.Fuzzer.OutOfProcess.Run(stream =>
    {
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        run.Run(copy.ToArray());
    });
    return 0;
}

if (args is ["replay", string replayed, .. var paths] && FuzzTargets.Find(replayed) is { } replay)
{
    int failed = 0, count = 0;
    foreach (string file in paths.SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories) : [p]))
    {
        count++;
        try
        {
            replay.Run(File.ReadAllBytes(file));
        }
#pragma warning disable CA1031 // every failure of any kind is what replay reports
        catch (Exception e)
#pragma warning restore CA1031
        {
            failed++;
            Console.Error.WriteLine($"{file}: {e}");
        }
    }

    Console.WriteLine($"replayed={count} failed={failed}");
    return failed == 0 ? 0 : 1;
}

Console.Error.WriteLine("usage: pm-fuzz list | run TARGET | replay TARGET PATH...");
return 2;
