using System.Runtime.InteropServices;
using TradingBots;
using TradingBots.Runner;

// The local topology runner: `dotnet run --project src/TradingBots.Runner [-- --binance sim|real|URL]
// [--port-offset N] [--no-servers]`. Starts the servers, then every project of aspire-manifest.json, waits for
// their health, prints where they are, and stops them on Ctrl+C/SIGTERM.
var noServers = args.Contains("--no-servers");
var portOffset = args.SkipWhile(a => a != "--port-offset").Skip(1).Select(int.Parse).FirstOrDefault();
var binance = args.SkipWhile(a => a != "--binance").Skip(1).FirstOrDefault();

try
{
    var manifest = Manifest.Load(RepoRoot.File("aspire-manifest.json"));
    if (!noServers)
    {
        await new LocalServers(manifest, portOffset).RunScriptAsync(Console.Out, "start");
    }

    using var stop = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
    using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; stop.Cancel(); });

    var (binanceUrl, marketSource) = await MarketSource.ChooseAsync(binance);
    Console.WriteLine($"starting the topology of {manifest.Path} ({Topology.BuildConfiguration} build)");
    await using var topology = await Topology.StartAsync(manifest, new TopologyOptions
    {
        PortOffset = portOffset,
        Overrides = binanceUrl is null ? new Dictionary<string, IReadOnlyDictionary<string, string>>()
            : new() { [ResourceNames.Market] = new Dictionary<string, string> { ["Binance__BaseUrl"] = binanceUrl } },
        OnGaveUp = (name, code, tail) => Console.Error.WriteLine(
            $"!! {name} keeps exiting (last code {code}); the rest keeps running. Last lines:{Environment.NewLine}{string.Join(Environment.NewLine, tail)}"),
    }, stop.Token);

    StartupTable.Print(topology, Console.Out);
    Console.WriteLine($"market data: {marketSource}");
    Console.WriteLine("Press Ctrl+C to stop every process.");
    try { await Task.Delay(Timeout.Infinite, stop.Token); } catch (OperationCanceledException) { }
    Console.WriteLine("stopping…");
    return 0;
}
catch (OperationCanceledException)
{
    return 130;
}
catch (RunnerException ex)
{
    Console.Error.WriteLine($"runner: {ex.Message}");
    return 1;
}
