using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Reflection;
using System.Runtime.InteropServices;

namespace TradingBots.Runner;

public sealed record TopologyOptions
{
    /// <summary>Added to every port the runner assigns, so a test topology can run beside the user's.</summary>
    public int PortOffset { get; init; }

    /// <summary>
    /// The local ports of the resources users type in (the AppHost pins the same ones in run mode; the published
    /// manifest declares none, as a container app's ingress cannot have one).
    /// </summary>
    public IReadOnlyDictionary<string, int> WellKnownPorts { get; init; } = new Dictionary<string, int>
    {
        [ResourceNames.Gateway] = 8080,
        [ResourceNames.ExchangeSim] = 8090,
    };

    /// <summary>First port for the other project bindings.</summary>
    public int FirstFreePort { get; init; } = 8081;

    /// <summary>Environment set on top of the manifest's, per resource name (e.g. the market's Binance URL).</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Overrides { get; init; } =
        new Dictionary<string, IReadOnlyDictionary<string, string>>();

    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>
    /// Called with a service's name, exit code and last log lines when it keeps dying and is not restarted any more
    /// (each restart before that is one line in <see cref="Log"/>).
    /// </summary>
    public Action<string, int, IReadOnlyList<string>>? OnGaveUp { get; init; }

    public TextWriter Log { get; init; } = Console.Out;
}

/// <summary>
/// Runs the topology of aspire-manifest.json without Docker: container resources are the local servers
/// (servers.sh), each project resource is its own process with the environment the manifest declares.
/// A project without bindings is a job (the migrations): it must exit 0 before the next resources start.
/// A service that exits on its own is restarted on the same port (<see cref="RestartPolicy"/>).
/// </summary>
public sealed class Topology : IAsyncDisposable
{
    private const int SigTerm = 15;
    private readonly List<ServiceProcess> _processes = [];
    private readonly Dictionary<string, ServiceProcess> _current = [];
    private readonly Dictionary<string, RestartPolicy> _restarts = [];
    /// <summary>Logs this topology has written: a later process of the same name (a restart, a whole-system restart) appends.</summary>
    private readonly HashSet<string> _logs = [];
    private int _replicas;
    private volatile bool _started;
    private readonly Dictionary<(string, string), Endpoint> _endpoints = [];
    private readonly TopologyOptions _options;
    private readonly string _pidFile;
    private volatile bool _stopping;

    private Topology(Manifest manifest, TopologyOptions options)
    {
        Manifest = manifest;
        _options = options;
        Servers = new LocalServers(manifest, options.PortOffset);
        Resolver = new ExpressionResolver(manifest, EndpointOf, LocalServers.ParameterValue, Servers.Localize);
        _pidFile = Path.Combine(manifest.Directory, "storage", "runner", $"pids-{options.PortOffset}");
    }

    public Manifest Manifest { get; }
    public ExpressionResolver Resolver { get; }

    /// <summary>This instance's share of the local servers (its database, Redis server and virtual host).</summary>
    public LocalServers Servers { get; }

    /// <summary>The built configuration of the runner, used for the services' outputs too (bin/Debug or bin/Release).</summary>
    public static string BuildConfiguration { get; } =
        typeof(Topology).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    public string UrlOf(string resource) => EndpointOf(resource, "http").Url;

    public string ConnectionString(string resource) => Resolver.Resolve($"{{{resource}.connectionString}}");

    public string LogPathOf(string resource) => Path.Combine(Manifest.Directory, "storage", "logs", $"{resource}-{_options.PortOffset}.log");

    /// <summary>The process id of a service as it runs now (a restart gives it a new one).</summary>
    public int ProcessIdOf(string resource)
    {
        lock (_processes) return _current[resource].Process.Id;
    }

    /// <summary>
    /// Starts one more process of a service, with the same environment on a port of its own, and waits for its health
    /// (two Trading or two Worker processes, as replicas would run). Not restarted when it exits; stopped with the rest.
    /// </summary>
    public async Task<ServiceReplica> StartReplicaAsync(string resource, CancellationToken cancellationToken)
    {
        var number = Interlocked.Increment(ref _replicas);
        var port = Enumerable.Range(_options.FirstFreePort + _options.PortOffset + 100, 1000)
            .First(p => !_endpoints.Values.Any(e => e.Port == p) && !IsListening(p));
        var name = $"{resource}-replica{number}";
        var service = Start(Manifest[resource], new Endpoint("http", "127.0.0.1", port).Url,
            Path.Combine(Manifest.Directory, "storage", "logs", $"{name}-{_options.PortOffset}.log"), supervised: false);
        await WaitHealthyAsync(service, cancellationToken);
        return new ServiceReplica(name, service.Url!, service.Process.Id, service.LogPath);
    }

    public static async Task<Topology> StartAsync(Manifest manifest, TopologyOptions options, CancellationToken cancellationToken)
    {
        var topology = new Topology(manifest, options);
        try
        {
            await topology.StartAsync(cancellationToken);
            return topology;
        }
        catch
        {
            await topology.DisposeAsync();
            throw;
        }
    }

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        StopLeftovers();
        AssignProjectPorts();
        foreach (var resource in Manifest.Resources.Where(r => r.IsProject))
        {
            var url = _endpoints.TryGetValue((resource.Name, "http"), out var http) ? http.Url : null;
            var service = Start(resource, url, LogPathOf(resource.Name), supervised: url is not null);
            if (service.Url is null)
            {
                await WaitForJobAsync(service, cancellationToken);
            }
        }
        await Task.WhenAll(_processes.Where(p => p.Url is not null).Select(p => WaitHealthyAsync(p, cancellationToken)));
        _started = true;
    }

    private Endpoint EndpointOf(string resource, string binding) =>
        _endpoints.TryGetValue((resource, binding), out var endpoint) ? endpoint
        : Manifest[resource].IsContainer ? Servers.EndpointOf(Manifest[resource], binding)
        : throw new RunnerException($"'{resource}' has no binding '{binding}'");

    private void AssignProjectPorts()
    {
        var next = _options.FirstFreePort + _options.PortOffset;
        int? FixedPort(ManifestResource resource, string binding) =>
            (resource.BindingInt(binding, "port")
             ?? (binding == "http" && _options.WellKnownPorts.TryGetValue(resource.Name, out var known) ? known : null))
            + _options.PortOffset;
        var fixedPorts = Manifest.Resources.Where(r => r.IsProject)
            .SelectMany(r => r.BindingNames.Select(b => FixedPort(r, b))).OfType<int>().ToHashSet();
        foreach (var resource in Manifest.Resources.Where(r => r.IsProject))
        {
            foreach (var binding in resource.BindingNames)
            {
                var port = FixedPort(resource, binding);
                if (port is null)
                {
                    while (fixedPorts.Contains(next)) next++;
                    port = next++;
                }
                if (IsListening(port.Value))
                {
                    throw new RunnerException($"port {port} (for {resource.Name}) is already in use: is another TradingBots running?");
                }
                _endpoints[(resource.Name, binding)] = new Endpoint(binding == "https" ? "https" : "http", "127.0.0.1", port.Value);
            }
        }
    }

    private ServiceProcess Start(ManifestResource resource, string? url, string logPath, bool supervised)
    {
        var projectPath = Path.GetFullPath(Path.Combine(Manifest.Directory, resource["path"]
            ?? throw new RunnerException($"project '{resource.Name}' has no path")));
        var projectDirectory = Path.GetDirectoryName(projectPath)!;
        var assembly = Path.Combine(projectDirectory, "bin", BuildConfiguration, "net10.0",
            Path.GetFileNameWithoutExtension(projectPath) + ".dll");
        if (!File.Exists(assembly))
        {
            throw new RunnerException($"{assembly} is missing: build the solution (dotnet build TradingBots.Local.slnf -c {BuildConfiguration})");
        }

        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Manifest.Directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(assembly);
        start.ArgumentList.Add("--contentRoot");
        start.ArgumentList.Add(projectDirectory);
        foreach (var (name, value) in resource.Env)
        {
            start.Environment[name] = Resolver.Resolve(value);
        }
        if (url is not null)
        {
            // Loopback only: the manifest's HTTP_PORTS would listen on every interface.
            start.Environment["ASPNETCORE_URLS"] = url;
        }
        if (_options.Overrides.TryGetValue(resource.Name, out var overrides))
        {
            foreach (var (name, value) in overrides) start.Environment[name] = value;
        }

        lock (_processes)
        {
            if (_stopping) throw new OperationCanceledException("the topology is stopping");
            var service = new ServiceProcess(resource.Name, url, logPath, start, restart: !_logs.Add(logPath));
            _processes.Add(service);
            if (supervised || url is null) _current[resource.Name] = service;
            File.AppendAllText(_pidFile, $"{service.Process.Id} {assembly}\n");
            if (supervised) service.Process.Exited += (_, _) => _ = RestartAsync(resource, service);
            return service;
        }
    }

    /// <summary>Starts a service again after it exited on its own, on the same port, after the policy's delay; one line each time.</summary>
    private async Task RestartAsync(ManifestResource resource, ServiceProcess exited)
    {
        try
        {
            await SuperviseAsync(resource, exited);
        }
        catch (Exception ex)
        {
            _options.Log.WriteLine($"!! {resource.Name} could not be restarted: {ex.Message}");
        }
    }

    private async Task SuperviseAsync(ManifestResource resource, ServiceProcess exited)
    {
        // While starting, a death fails the start (with its log); afterwards it is restarted.
        if (_stopping || !_started) return;
        var code = exited.Process.ExitCode;
        var uptime = DateTime.UtcNow - exited.StartedAt;
        TimeSpan? delay;
        int attempt;
        lock (_processes)
        {
            var policy = _restarts.TryGetValue(resource.Name, out var p) ? p : _restarts[resource.Name] = new RestartPolicy();
            delay = policy.NextDelay(uptime);
            attempt = policy.InARow;
        }
        if (delay is null)
        {
            _options.Log.WriteLine($"!! {resource.Name} exited with code {code} after {RestartPolicy.MaxRestarts} restarts in a row: not restarting it again");
            _options.OnGaveUp?.Invoke(resource.Name, code, exited.Tail());
            return;
        }
        _options.Log.WriteLine($"!! {resource.Name} exited with code {code} after {uptime.TotalSeconds:0.0} s; restarting it in "
            + $"{delay.Value.TotalSeconds:0} s (restart {attempt} of {RestartPolicy.MaxRestarts} in a row)");
        await Task.Delay(delay.Value);
        if (!_stopping) Start(resource, exited.Url, exited.LogPath, supervised: true);
    }

    private async Task WaitForJobAsync(ServiceProcess job, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.StartTimeout);
        try
        {
            await job.Process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new RunnerException(job.Describe($"did not finish within {_options.StartTimeout.TotalSeconds:0} s"));
        }
        if (job.Process.ExitCode != 0)
        {
            throw new RunnerException(job.Describe($"exited with code {job.Process.ExitCode}"));
        }
        _options.Log.WriteLine($"{job.Name}: completed");
    }

    private async Task WaitHealthyAsync(ServiceProcess service, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + _options.StartTimeout;
        string last = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            if (service.Process.HasExited)
            {
                throw new RunnerException(service.Describe($"exited with code {service.Process.ExitCode} while starting"));
            }
            try
            {
                using var response = await http.GetAsync($"{service.Url}/health", cancellationToken);
                if (response.IsSuccessStatusCode) return;
                last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}";
            }
            catch (HttpRequestException ex)
            {
                last = ex.Message;
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                last = "health request timed out";
            }
            await Task.Delay(250, cancellationToken);
        }
        throw new RunnerException(service.Describe($"was not healthy after {_options.StartTimeout.TotalSeconds:0} s (last: {last})"));
    }

    /// <summary>Stops what an earlier run of ours left behind (a killed runner cannot stop its children).</summary>
    private void StopLeftovers()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_pidFile)!);
        if (!File.Exists(_pidFile)) return;
        foreach (var line in File.ReadAllLines(_pidFile))
        {
            var parts = line.Split(' ', 2);
            var cmdline = $"/proc/{parts[0]}/cmdline";
            // Only a process still running one of our service assemblies is ours to stop.
            if (parts.Length == 2 && File.Exists(cmdline) && File.ReadAllText(cmdline).Contains(parts[1], StringComparison.Ordinal))
            {
                _options.Log.WriteLine($"stopping leftover process {parts[0]} ({Path.GetFileName(parts[1])})");
                try { Process.GetProcessById(int.Parse(parts[0], CultureInfo.InvariantCulture)).Kill(entireProcessTree: true); }
                catch (ArgumentException) { }
            }
        }
        File.Delete(_pidFile);
    }

    private static bool IsListening(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>SIGTERM to every process (they shut down gracefully), then a kill for any still running after 10 s.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_processes)
        {
            if (_stopping) return; // disposed already
            _stopping = true;
        }
        await StopAllAsync();
    }

    /// <summary>
    /// The whole system stopped (every process, gracefully) and started again on the same ports, as a user who stops
    /// the run command and runs it again: what is in the servers (database, broker) is all that carries over.
    /// </summary>
    public async Task RestartAsync(CancellationToken cancellationToken)
    {
        lock (_processes)
        {
            if (_stopping) throw new InvalidOperationException("the topology is stopped");
            _stopping = true;
            _started = false;
        }
        await StopAllAsync();
        lock (_processes)
        {
            _processes.Clear();
            _current.Clear();
            _restarts.Clear();
            _endpoints.Clear();
            _stopping = false;
        }
        await StartAsync(cancellationToken);
    }

    private async Task StopAllAsync()
    {
        List<ServiceProcess> processes;
        lock (_processes) processes = [.. _processes];
        foreach (var service in processes.Where(p => !p.Process.HasExited))
        {
            _ = kill(service.Process.Id, SigTerm);
        }
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        foreach (var service in processes)
        {
            try
            {
                await service.Process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                service.Process.Kill(entireProcessTree: true);
                await service.Process.WaitForExitAsync();
            }
            service.Dispose();
        }
        File.Delete(_pidFile);
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
