using System.Diagnostics;

namespace TradingBots.Runner;

/// <summary>One started project: its process, its log file and the last lines it wrote (for death reports).</summary>
internal sealed class ServiceProcess : IDisposable
{
    private const int TailLines = 40;
    private readonly Queue<string> _tail = new();
    private readonly StreamWriter _log;

    /// <param name="restart">A restart appends to the log of the run before (which says why it died), after a line saying so.</param>
    public ServiceProcess(string name, string? url, string logPath, ProcessStartInfo start, bool restart = false)
    {
        Name = name;
        Url = url;
        LogPath = logPath;
        Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
        _log = new StreamWriter(logPath, append: restart) { AutoFlush = true };
        if (restart) _log.WriteLine($"== {name} started again at {DateTime.UtcNow:O}");
        Process = new Process { StartInfo = start, EnableRaisingEvents = true };
        Process.OutputDataReceived += (_, e) => Append(e.Data);
        Process.ErrorDataReceived += (_, e) => Append(e.Data);
        Process.Start();
        StartedAt = DateTime.UtcNow;
        Process.BeginOutputReadLine();
        Process.BeginErrorReadLine();
    }

    public string Name { get; }
    public string? Url { get; }
    public string LogPath { get; }
    public Process Process { get; }

    /// <summary>When it was started (an exited Process no longer tells).</summary>
    public DateTime StartedAt { get; }

    public IReadOnlyList<string> Tail()
    {
        lock (_tail) return [.. _tail];
    }

    public string Describe(string what) =>
        $"{Name} {what}. Last lines of {LogPath}:{Environment.NewLine}{string.Join(Environment.NewLine, Tail())}";

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_tail)
        {
            _log.WriteLine(line);
            _tail.Enqueue(line);
            if (_tail.Count > TailLines) _tail.Dequeue();
        }
    }

    public void Dispose()
    {
        Process.Dispose();
        lock (_tail) _log.Dispose();
    }
}

/// <summary>An extra process of a service (see <see cref="Topology.StartReplicaAsync"/>).</summary>
public sealed record ServiceReplica(string Name, string Url, int ProcessId, string LogPath);
