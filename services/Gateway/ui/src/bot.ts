import { CandlestickSeries, createChart, createSeriesMarkers, LineSeries, type SeriesMarker, type Time, type UTCTimestamp } from "lightweight-charts";
import { ApiError, get, post, type BotDetails, type Kline, type Snapshot, type Trade } from "./api";
import { amount, h } from "./dom";
import type { EventStream } from "./events";

// One bot: status and its current job's progress, its equity curve (its portfolio snapshots, then live ones), a candle
// chart of its first symbol and timeframe with its buys and sells marked, its trades, and its live events.

const seconds = (iso: string | number) => Math.floor((typeof iso === "number" ? iso : Date.parse(iso)) / 1000) as UTCTimestamp;

export async function botPage(root: HTMLElement, events: EventStream, id: number): Promise<() => void> {
  let details = await get<BotDetails>(`/bots/${id}`);
  const symbol = details.bot.symbols[0];
  const title = h("h1", {}, details.bot.name);
  const status = h("p", { role: "status", "aria-label": "Bot status" });
  const progress = h("progress", { max: "100", "aria-label": "Job progress" });
  const jobMessage = h("p", { class: "job-message" });
  const action = h("button", { type: "button" });
  const error = h("p", { class: "error", role: "alert" });
  const equityBox = h("div", { class: "chart", "aria-label": "Equity curve", role: "img" });
  const candleBox = h("div", { class: "chart", "aria-label": `Candles of ${symbol} ${details.bot.timeframe} with the bot's trades`, role: "img" });
  const trades = h("tbody");
  // What the charts show, as text (for screen readers, and the tests).
  const equityNow = h("p", { class: "chart-summary", "aria-label": "Equity now" });
  const marked = h("p", { class: "chart-summary", "aria-label": "Trades on the chart" });
  const feed = h("ol", { class: "feed", "aria-label": "Live events" });
  root.replaceChildren(title, h("div", { class: "bar" }, status, action), progress, jobMessage, error,
    h("h2", {}, "Equity"), equityBox, equityNow, h("h2", {}, `${symbol} ${details.bot.timeframe}`), candleBox, marked,
    h("h2", {}, "Trades"),
    h("table", { "aria-label": "Trades" }, h("thead", {}, h("tr", {}, ...["Trade", "Symbol", "Status", "Qty", "Entry", "Fees", "Unrealized PnL", "Realized PnL", "Opened", "Closed"]
      .map((c) => h("th", { scope: "col" }, c)))), trades),
    h("h2", {}, "Live events"), feed);

  // Events that come while the page loads are kept, and handled once it has loaded.
  const early: [string, Record<string, unknown>][] = [];
  let handle: ((type: string, data: Record<string, unknown>) => Promise<void>) | null = null;
  const unsubscribe = events.subscribe((type, data) => void (handle ? handle(type, data) : early.push([type, data])));

  const equityChart = createChart(equityBox, { height: 220, autoSize: true, timeScale: { timeVisible: true, secondsVisible: true } });
  const equity = equityChart.addSeries(LineSeries, { color: "#1f6feb", lineWidth: 2 });
  const candleChart = createChart(candleBox, { height: 300, autoSize: true, timeScale: { timeVisible: true, secondsVisible: true } });
  const candles = candleChart.addSeries(CandlestickSeries, {});
  const markers = createSeriesMarkers(candles, []);

  const points = new Map<number, number>();
  const drawEquity = () => {
    const curve = [...points.entries()].sort((a, b) => a[0] - b[0]).map(([time, value]) => ({ time: time as UTCTimestamp, value }));
    equity.setData(curve);
    equityNow.textContent = curve.length > 0 ? `equity ${amount(curve[curve.length - 1].value, 8)} (${curve.length} snapshots)` : "no snapshot yet";
  };
  for (const s of (await get<{ snapshots: Snapshot[] }>(`/portfolio/${id}/snapshots`)).snapshots) points.set(seconds(s.timestamp), s.equity);
  drawEquity();

  // Reads of the bot may answer out of order (a click's and an event's): only the newest one asked is drawn.
  let asked = 0;
  const reload = async () => {
    const mine = ++asked;
    const fresh = await get<BotDetails>(`/bots/${id}`);
    if (mine !== asked) return;
    details = fresh;
    drawHeader();
  };
  const drawHeader = () => {
    const { bot, current_job: job } = details;
    status.textContent = `${bot.status} · ${bot.strategy}@${bot.strategy_version ?? "?"} · ${bot.symbols.join(", ")} · ${details.open_trades} open trade(s)`;
    progress.value = job?.progress ?? 0;
    jobMessage.textContent = job ? `job ${job.id} ${job.status}: ${job.message ?? ""}` : "no job yet";
    const verb = bot.status === "running" || bot.status === "starting" ? "stop" : "start";
    action.textContent = verb === "start" ? "Start" : "Stop";
    action.setAttribute("aria-label", `${verb} ${bot.name}`);
    action.onclick = async () => {
      try { await post(`/bots/${id}/${verb}`); error.textContent = ""; } catch (e) { error.textContent = e instanceof ApiError ? e.summary : String(e); }
      await reload();
    };
  };
  drawHeader();

  const bar = timeframeSeconds(details.bot.timeframe);
  const refreshCandles = async () => {
    const klines = await get<Kline[]>(`/market/ohlcv?symbol=${encodeURIComponent(symbol)}&timeframe=${details.bot.timeframe}&limit=200`);
    candles.setData(klines.map((k) => ({ time: seconds(k[0]), open: k[1], high: k[2], low: k[3], close: k[4] })));
  };
  const refreshTrades = async () => {
    const list = (await get<{ trades: Trade[] }>(`/trades?bot_id=${id}`)).trades;
    trades.replaceChildren(...list.map((t) => h("tr", { "data-trade": String(t.id) },
      h("td", {}, String(t.id)), h("td", {}, t.symbol), h("td", {}, t.status), h("td", { class: "number" }, amount(t.amount, 8)),
      h("td", { class: "number" }, amount(t.price, 8)), h("td", { class: "number" }, amount(t.fees_paid_quote, 8)),
      h("td", { class: "number" }, amount(t.unrealized_pnl_quote, 8)), h("td", { class: "number" }, amount(t.realized_pnl_quote, 8)),
      h("td", {}, new Date(t.created_at).toLocaleTimeString()), h("td", {}, t.closed_at ? new Date(t.closed_at).toLocaleTimeString() : "—"))));
    // A buy on the candle it was made in, a sell on the candle it was closed in.
    const onCandle = (iso: string) => (Math.floor(seconds(iso) / bar) * bar) as UTCTimestamp;
    const marks: SeriesMarker<Time>[] = list.filter((t) => t.symbol === symbol).flatMap((t) => [
      { time: onCandle(t.created_at), position: "belowBar" as const, shape: "arrowUp" as const, color: "#0a7d36", text: `buy #${t.id}` },
      ...(t.closed_at ? [{ time: onCandle(t.closed_at), position: "aboveBar" as const, shape: "arrowDown" as const, color: "#b3261e", text: `sell #${t.id}` }] : []),
    ]).sort((a, b) => Number(a.time) - Number(b.time));
    markers.setMarkers(marks);
    marked.textContent = `${marks.filter((m) => m.shape === "arrowUp").length} buy(s), ${marks.filter((m) => m.shape === "arrowDown").length} sell(s) on the chart`;
  };
  await Promise.all([refreshCandles(), refreshTrades()]);
  const candleTimer = window.setInterval(() => void refreshCandles(), Math.max(1000, Math.min(bar * 1000, 15_000)));

  handle = async (type, data) => {
    if (data.bot_id !== undefined && Number(data.bot_id) !== id) return;
    feed.prepend(h("li", {}, h("code", {}, type), " ", JSON.stringify(data)));
    while (feed.children.length > 50) feed.lastElementChild!.remove();
    if (type === "portfolio.snapshot") {
      points.set(seconds(String(data.ts)), Number(data.equity));
      drawEquity();
    }
    if (type.startsWith("trade.")) await refreshTrades();
    if (type === "bot.state" || type === "job.progress" || type === "trade.opened" || type === "trade.closed") await reload();
  };
  for (const [type, data] of early.splice(0)) await handle(type, data);
  return () => {
    unsubscribe();
    window.clearInterval(candleTimer);
    equityChart.remove();
    candleChart.remove();
  };
}

/** A Binance interval in seconds (1s, 1m, 1h, 1d, 1w; 1M as 30 days). */
function timeframeSeconds(timeframe: string): number {
  const n = parseInt(timeframe, 10);
  const unit = timeframe.slice(String(n).length);
  return n * ({ s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, M: 2_592_000 } as Record<string, number>)[unit];
}
