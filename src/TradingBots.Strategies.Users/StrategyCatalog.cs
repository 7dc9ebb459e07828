using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TradingBots.Data;

namespace TradingBots.Strategies.Users;

/// <summary>A strategy as GET /strategies lists it: usable (<see cref="Strategy"/>), or a user file that cannot be (<see cref="Diagnostics"/>).</summary>
public sealed record StrategyEntry(string Name, IStrategy? Strategy, IReadOnlyList<StrategyDiagnostic> Diagnostics, bool BuiltIn)
{
    public string Problem => $"strategy '{Name}' cannot be used: {string.Join("; ", Diagnostics.Take(5))}";
}

/// <summary>The strategies as they are now: the built-ins and the strategies folder's current versions.</summary>
public sealed class StrategyLookup(IReadOnlyList<StrategyEntry> entries)
{
    public IReadOnlyList<StrategyEntry> Entries { get; } = entries;

    /// <summary>"name" (a built-in's newest version, a user strategy's current one) or a built-in's "name@version".</summary>
    public IStrategy? Find(string nameOrKey)
    {
        if (StrategyRegistry.Find(nameOrKey) is { } builtIn) return builtIn;
        var (name, version) = StrategyRegistry.Split(nameOrKey);
        var entry = Entries.FirstOrDefault(e => !e.BuiltIn && e.Name == name);
        return entry?.Strategy is { } user && (version is null || version == user.Version) ? user : null;
    }

    /// <summary>Why a name cannot be chosen: not compiling (its diagnostics), or unknown (the known ones listed).</summary>
    public string Refusal(string nameOrKey)
    {
        var name = StrategyRegistry.Split(nameOrKey).Name;
        return Entries.FirstOrDefault(e => e.Name == name && e.Strategy is null) is { } broken ? broken.Problem
            : $"unknown strategy '{nameOrKey}'; known: {string.Join(", ", Entries.Where(e => e.Strategy is not null).Select(e => StrategyRegistry.Key(e.Strategy!)))}";
    }
}

/// <summary>
/// Every strategy the system can run: the built-ins, and the user's, compiled from the strategies folder
/// (<see cref="StrategiesOptions.Path"/>): each .cs file there is a strategy named after the file, each folder of .cs files
/// one named after the folder. A content first seen becomes the strategy's next version in the strategies table (with
/// its files), so versions are the same for every process, and a bot or backtest names the version it was created with:
/// a Worker compiles that version from the table, whatever the file holds now. A file that does not compile is listed
/// with its diagnostics and gets no version.
/// </summary>
public sealed partial class StrategyCatalog(IServiceScopeFactory scopes, IOptions<StrategiesOptions> options, TimeProvider time, ILogger<StrategyCatalog> logger)
{
    private readonly StrategyCompiler _compiler = new(options.Value.Limits);
    private readonly SemaphoreSlim _scan = new(1, 1);
    private readonly Dictionary<string, (string Sha256, StrategyEntry Entry)> _scanned = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<IStrategy?>>> _versions = new(StringComparer.Ordinal);

    [GeneratedRegex("^[a-z][a-z0-9_-]{0,39}$")]
    private static partial Regex ValidName();

    /// <summary>The built-ins and the folder's strategies as they are now (a changed file compiled and versioned first).</summary>
    public async Task<StrategyLookup> CurrentAsync(CancellationToken cancellationToken)
    {
        var sources = ReadFolder();
        var entries = new List<StrategyEntry>(StrategyRegistry.All.Select(s => new StrategyEntry(s.Name, s, [], true)));
        await _scan.WaitAsync(cancellationToken);
        try
        {
            foreach (var source in sources)
            {
                if (!_scanned.TryGetValue(source.Name, out var seen) || seen.Sha256 != source.Sha256)
                    _scanned[source.Name] = seen = (source.Sha256, await LoadAsync(source, cancellationToken));
                entries.Add(seen.Entry);
            }
        }
        finally
        {
            _scan.Release();
        }
        return new StrategyLookup(entries);
    }

    /// <summary>
    /// The strategy a bot or backtest names: a built-in's "name@version", or a user strategy's "name@version" as stored
    /// (compiled once per process); a bare "name" is the current one. Null when there is no such strategy.
    /// </summary>
    public async Task<IStrategy?> FindAsync(string key, CancellationToken cancellationToken)
    {
        if (StrategyRegistry.Find(key) is { } builtIn) return builtIn;
        var (name, version) = StrategyRegistry.Split(key);
        if (version is not { } stored) return (await CurrentAsync(cancellationToken)).Find(key);
        if (stored < 1) return null;
        var loading = _versions.GetOrAdd(key, _ => new(() => FromTableAsync(name, stored)));
        try
        {
            var strategy = await loading.Value.WaitAsync(cancellationToken);
            if (strategy is null) _versions.TryRemove(KeyValuePair.Create(key, loading)); // not stored (yet): asked again next time
            return strategy;
        }
        catch (Exception) when (loading.Value.IsFaulted)
        {
            _versions.TryRemove(KeyValuePair.Create(key, loading)); // a database failure: not remembered
            throw;
        }
    }

    /// <summary>The folder's strategies: each .cs file directly in it, and each folder holding .cs files (all of them, at any depth).</summary>
    private List<StrategyCode> ReadFolder()
    {
        var root = Path.GetFullPath(options.Value.Path);
        if (!Directory.Exists(root)) return [];
        var sources = new List<StrategyCode>();
        foreach (var file in Directory.EnumerateFiles(root, "*.cs").Order(StringComparer.Ordinal))
            sources.Add(new(Path.GetFileNameWithoutExtension(file), [(Path.GetFileName(file), File.ReadAllText(file))]));
        foreach (var folder in Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal))
        {
            var files = Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
                .Select(f => (Path.GetRelativePath(root, f).Replace('\\', '/'), File.ReadAllText(f))).ToList();
            if (files.Count > 0) sources.Add(new(Path.GetFileName(folder), files));
        }
        return sources;
    }

    /// <summary>A source compiled and, when it compiles, given its version (the existing one for content seen before).</summary>
    private async Task<StrategyEntry> LoadAsync(StrategyCode source, CancellationToken cancellationToken)
    {
        if (!ValidName().IsMatch(source.Name))
            return Broken(source, $"the name '{source.Name}' (the file's or folder's) must be 1 to 40 of a-z, 0-9, _ and -, starting with a letter");
        if (StrategyRegistry.All.Any(s => s.Name == source.Name)) return Broken(source, $"'{source.Name}' is a built-in strategy's name: rename the file");
        var compiled = _compiler.Compile(source);
        if (compiled.Logic is null) return new(source.Name, null, compiled.Diagnostics, false);
        UserStrategy strategy;
        try
        {
            strategy = UserStrategy.Create(source.Name, 0, compiled.Logic, options.Value.Limits);
        }
        catch (StrategyFailedException ex)
        {
            return Broken(source, ex.Message);
        }
        if (KnobProblem(strategy) is { } problem) return Broken(source, problem);
        var version = await VersionAsync(source, strategy.Description, cancellationToken);
        var versioned = strategy.WithVersion(version);
        _versions[StrategyRegistry.Key(versioned)] = new(Task.FromResult<IStrategy?>(versioned));
        logger.LogInformation("Strategy {Key} loaded from {File}", StrategyRegistry.Key(versioned), source.Files[0].Path);
        return new(source.Name, versioned, [], false);
    }

    /// <summary>What is wrong with the knobs a strategy declares: each a valid name, once, not a bot's own, its default in its range.</summary>
    private static string? KnobProblem(IStrategy strategy)
    {
        var names = new HashSet<string>(BotKnobs.All.Select(k => k.Name), StringComparer.Ordinal);
        foreach (var knob in strategy.Knobs)
        {
            if (knob is null) return "Knobs holds a null";
            if (!ValidName().IsMatch(knob.Name ?? "") || knob.Name!.Contains('-')) return $"knob '{knob.Name}': a name is 1 to 40 of a-z, 0-9 and _, starting with a letter";
            if (!names.Add(knob.Name)) return $"knob '{knob.Name}' is declared twice, or is one every bot has";
            if (knob.Min > knob.Max) return $"knob '{knob.Name}': its min is above its max";
            if (knob.Default is { } d && knob.Type is KnobType.Integer or KnobType.Decimal && (d < knob.Min || d > knob.Max))
                return $"knob '{knob.Name}': its default {d} is outside its range";
        }
        return null;
    }

    private static StrategyEntry Broken(StrategyCode source, string message) => new(source.Name, null, [new(source.Files[0].Path, 0, 0, message)], false);

    /// <summary>
    /// The version of this content: the stored one, else the next for the name, its strategies row and its files written
    /// together (under an advisory lock per name, so two processes agree on the numbers).
    /// </summary>
    private async Task<int> VersionAsync(StrategyCode source, string description, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TradingDbContext>();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(hashtext('strategies:' || {source.Name}))", cancellationToken);
        var stored = await db.StrategySources.Where(s => s.Name == source.Name && s.Sha256 == source.Sha256)
            .Join(db.Strategies, s => s.StrategyId, v => v.Id, (_, v) => (int?)v.Version).FirstOrDefaultAsync(cancellationToken);
        if (stored is { } version) return version;
        var row = new Data.Strategy
        {
            Name = source.Name, Version = (await db.Strategies.Where(s => s.Name == source.Name).MaxAsync(s => (int?)s.Version, cancellationToken) ?? 0) + 1,
            Description = description, CreatedAt = time.GetUtcNow(),
        };
        db.Strategies.Add(row);
        await db.SaveChangesAsync(cancellationToken);
        db.StrategySources.Add(new Data.StrategySource
        {
            StrategyId = row.Id, Name = source.Name, Sha256 = source.Sha256, Files = JsonSerializer.Serialize(source.Files.ToDictionary(f => f.Path, f => f.Text)),
        });
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return row.Version;
    }

    /// <summary>A stored user strategy version compiled from its stored files; null when there is none (or it no longer compiles: logged).</summary>
    private async Task<IStrategy?> FromTableAsync(string name, int version)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TradingDbContext>();
        var stored = await db.Strategies.Where(s => s.Name == name && s.Version == version)
            .Join(db.StrategySources, v => v.Id, s => s.StrategyId, (_, s) => s.Files).FirstOrDefaultAsync();
        if (stored is null) return null;
        var files = JsonSerializer.Deserialize<Dictionary<string, string>>(stored)!;
        var compiled = _compiler.Compile(new StrategyCode(name, [.. files.Select(f => (f.Key, f.Value))]));
        if (compiled.Logic is null)
        {
            logger.LogWarning("Strategy {Name}@{Version} no longer compiles: {Diagnostics}", name, version, string.Join("; ", compiled.Diagnostics));
            return null;
        }
        return UserStrategy.Create(name, version, compiled.Logic, options.Value.Limits);
    }
}
