using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace TradingBots.AppHost;

/// <summary>
/// Starts a service that exits on its own (a crash, a kill -9: any exit code but 0) again, through the resource's own
/// start command, after 1 s, then 2, 4, 8 and 16 s while it keeps dying; a run that stayed up a minute starts the count
/// again, and after 5 restarts in a row it is left stopped (its logs say why). A service stopped on purpose (its Stop
/// command, from the dashboard or a test: the resource goes through Stopping first) or that exits 0, and the migrations
/// (they finish), are left alone. The dashboard shows each restart in the resource's state and the AppHost's log.
/// </summary>
public sealed class Restarts(ResourceNotificationService notifications, ResourceCommandService commands, TimeProvider time, ILogger<Restarts> logger)
    : BackgroundService
{
    private const int MaxInARow = 5;
    private static readonly TimeSpan StableAfter = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Per service: restarts in a row, whether one is under way (an exit is reported in several snapshots), and whether it
    /// was asked to stop (its next exit is not a crash, whatever its code: the orchestrator reports -1 for any process ended by a signal).
    /// </summary>
    private readonly ConcurrentDictionary<string, (int InARow, bool Pending, bool Stopping)> _services = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var update in notifications.WatchAsync(stoppingToken))
            {
                if (update.Resource is not ProjectResource project || project.Name == ResourceNames.Migrations) continue;
                var snapshot = update.Snapshot;
                var state = snapshot.State?.Text;
                var seen = _services.GetValueOrDefault(project.Name);
                if (state == KnownResourceStates.Stopping) _services[project.Name] = seen with { Stopping = true };
                else if (state == KnownResourceStates.Running && (seen.Pending || seen.Stopping)) _services[project.Name] = seen with { Pending = false, Stopping = false };
                // A process that ended is Finished (or Exited) with its exit code; one that could not start, FailedToStart.
                if (state != KnownResourceStates.Finished && state != KnownResourceStates.Exited && state != KnownResourceStates.FailedToStart
                    || snapshot.ExitCode is null or 0) continue;

                var (inARow, pending, stopping) = _services.GetValueOrDefault(project.Name);
                if (pending || stopping) continue;
                var upFor = snapshot.StopTimeStamp - snapshot.StartTimeStamp;
                if (upFor >= StableAfter) inARow = 0;
                if (inARow >= MaxInARow)
                {
                    logger.LogError("{Service} exited with code {Code} after {Restarts} restarts in a row: left stopped (see its logs)", project.Name, snapshot.ExitCode, inARow);
                    continue;
                }
                var delay = TimeSpan.FromSeconds(1 << inARow);
                _services[project.Name] = (inARow + 1, true, false);
                logger.LogWarning("{Service} exited with code {Code}; starting it again in {Delay} s (restart {Restart} of {Max} in a row)",
                    project.Name, snapshot.ExitCode, delay.TotalSeconds, inARow + 1, MaxInARow);
                _ = StartAgainAsync(project, delay, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task StartAgainAsync(ProjectResource project, TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, time, cancellationToken);
            var result = await commands.ExecuteCommandAsync(project, KnownResourceCommands.StartCommand, cancellationToken);
            if (result.Success) return; // pending until it is seen running (an exit may be reported again meanwhile)
            logger.LogError("{Service} could not be started again: {Message}", project.Name, result.Message);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "{Service} could not be started again", project.Name);
        }
        if (_services.TryGetValue(project.Name, out var state)) _services[project.Name] = state with { Pending = false };
    }
}
