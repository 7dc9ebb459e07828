import { CandlestickSeries, createChart, createSeriesMarkers, LineSeries, type SeriesMarker, type Time, type UTCTimestamp } from "lightweight-charts";
import { ApiError, get, post, usable, type Job, type Kline, type Strategy } from "./api";
import { amount, h } from "./dom";
import type { EventStream } from "./events";

// Backtests: the list and the form (/ui/backtests), and one backtest (/ui/backtests/{id}): its progress bar (job.progress
// events), summary, equity chart (equity.csv) and its trades on the candles of its first symbol (trades.csv).

interface Backtest {
  id: number; strategy: string; version: number; symbols: string[]; timeframe: string; from: string; to: string; starting_cash: number;
  job: Job; summary: Record<string, number | string[] | null> | null; artifacts: { name: string; url: string }[];
}

const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000) as UTCTimestamp;
const hour = 3_600_000;

export async function backtestsPage(root: HTMLElement, events: EventStream): Promise<() => void> {
  const strategies = usable((await get<{ strategies: Strategy[] }>("/strategies")).strategies);
  const body = h("tbody");
  // Reads may answer out of order (progress comes often): only the newest one asked is drawn.
  let asked = 0;
  const draw = async () => {
    const mine = ++asked;
    const { backtests } = await get<{ backtests: Backtest[] }>("/backtests");
    if (mine !== asked) return;
    body.replaceChildren(...backtests.map((b) => h("tr", { "data-backtest": String(b.id) },
      h("td", {}, h("a", { href: `/ui/backtests/${b.id}` }, `#${b.id}`)), h("td", {}, `${b.strategy}@${b.version}`), h("td", {}, b.symbols.join(", ")),
      h("td", {}, `${b.timeframe} ${b.from.slice(0, 16)} → ${b.to.slice(0, 16)}`), h("td", { class: `status ${b.job.status}` }, `${b.job.status} ${b.job.progress}%`),
      h("td", { class: "number" }, b.summary ? `${amount(Number(b.summary.total_return) * 100, 2)} %` : "—"))));
  };
  const now = Math.floor(Date.now() / hour) * hour;
  const error = h("p", { class: "error", role: "alert", id: "form-error" });
  const input = (name: string, value: string, label: string, hint?: string) =>
    h("label", {}, h("span", {}, label), h("input", { name, value, "aria-label": label }), hint ? h("small", {}, hint) : null);
  const form = h("form", { "aria-label": "New backtest" }, h("h2", {}, "New backtest"),
    h("label", {}, h("span", {}, "Strategy"), h("select", { name: "strategy", "aria-label": "Strategy" },
      ...strategies.map((s) => h("option", { value: `${s.name}@${s.version}` }, `${s.name}@${s.version}`)))),
    input("symbols", "BTC/USDT", "Symbols", "comma-separated, one quote currency"),
    input("timeframe", "1h", "Timeframe", "1s … 1d"),
    input("from", new Date(now - 7 * 24 * hour).toISOString().slice(0, 19) + "Z", "From", "a candle's open time, UTC"),
    input("to", new Date(now).toISOString().slice(0, 19) + "Z", "To", "not in the future; at most 525,600 candles"),
    input("starting_cash", "", "Starting cash", "empty: the default"),
    input("knobs", '{"fast": 9, "slow": 21}', "Knobs (JSON)", "as for bots: see the strategy's knobs on the Bots page"),
    h("button", { type: "submit" }, "Run backtest"), error);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const values = new FormData(form);
    error.textContent = "";
    try {
      const cash = String(values.get("starting_cash")).trim();
      const created = await post<Backtest>("/backtests", {
        strategy: values.get("strategy"), timeframe: values.get("timeframe"), from: values.get("from"), to: values.get("to"),
        symbols: String(values.get("symbols")).split(",").map((s) => s.trim()).filter((s) => s.length > 0),
        knobs: JSON.parse(String(values.get("knobs")) || "{}"), ...(cash ? { starting_cash: Number(cash) } : {}),
      });
      history.pushState(null, "", `/ui/backtests/${created.id}`);
      window.dispatchEvent(new PopStateEvent("popstate"));
    } catch (err) {
      error.textContent = err instanceof ApiError ? err.summary : `knobs: ${String(err)}`;
    }
  });
  root.replaceChildren(h("h1", {}, "Backtests"),
    h("table", { "aria-label": "Backtests" }, h("thead", {}, h("tr", {}, ...["Backtest", "Strategy", "Symbols", "Range", "Status", "Return"]
      .map((c) => h("th", { scope: "col" }, c)))), body), form);
  // Following the events from before the first read, so nothing that happens while it loads is missed.
  const unsubscribe = events.subscribe((type, data) => { if (type === "job.progress" && data.bot_id === null) void draw(); });
  await draw();
  return unsubscribe;
}

export async function backtestPage(root: HTMLElement, events: EventStream, id: number): Promise<() => void> {
  const status = h("p", { role: "status", "aria-label": "Backtest status" });
  const progress = h("progress", { max: "100", "aria-label": "Backtest progress" });
  const cancel = h("button", { type: "button", "aria-label": `cancel backtest ${id}` }, "Cancel");
  const summary = h("tbody");
  const files = h("p", { class: "chart-summary", "aria-label": "Artifacts" });
  const equityBox = h("div", { class: "chart", role: "img", "aria-label": "Backtest equity" });
  const candleBox = h("div", { class: "chart", role: "img", "aria-label": "Backtest trades on the candles" });
  const marked = h("p", { class: "chart-summary", "aria-label": "Backtest trades on the chart" });
  root.replaceChildren(h("h1", {}, `Backtest #${id}`), h("div", { class: "bar" }, status, cancel), progress,
    h("h2", {}, "Summary"), h("table", { "aria-label": "Backtest summary" }, summary), files,
    h("h2", {}, "Equity"), equityBox, h("h2", {}, "Trades on the candles"), candleBox, marked);
  const equityChart = createChart(equityBox, { height: 220, autoSize: true, timeScale: { timeVisible: true } });
  const equity = equityChart.addSeries(LineSeries, { color: "#1f6feb", lineWidth: 2 });
  const candleChart = createChart(candleBox, { height: 300, autoSize: true, timeScale: { timeVisible: true } });
  const candles = candleChart.addSeries(CandlestickSeries, {});
  const markers = createSeriesMarkers(candles, []);
  cancel.onclick = async () => { await post(`/jobs/${id}/cancel`).catch(() => undefined); await load(); };

  let drawn = false;
  let asked = 0;
  const load = async () => {
    const mine = ++asked;
    const b = await get<Backtest>(`/backtests/${id}`);
    if (mine !== asked) return;
    status.textContent = `${b.job.status} · ${b.strategy}@${b.version} · ${b.symbols.join(", ")} ${b.timeframe} · ${b.job.message ?? ""}`;
    progress.value = b.job.progress;
    cancel.hidden = b.job.status !== "queued" && b.job.status !== "running";
    if (!b.summary || drawn) return;
    drawn = true;
    summary.replaceChildren(...Object.entries(b.summary).filter(([, v]) => !Array.isArray(v)).map(([k, v]) =>
      h("tr", {}, h("th", { scope: "row" }, k.replaceAll("_", " ")), h("td", { class: "number" }, v === null ? "—" : amount(Number(v), 6)))));
    files.replaceChildren("Files: ", ...b.artifacts.flatMap((a) => [h("a", { href: `/api${a.url}` }, a.name), " "]));
    const csv = async (name: string) => (await (await fetch(`/api/backtests/${id}/artifacts/${name}`)).text()).trim().split("\r\n").slice(1).map((l) => l.split(","));
    const points = await csv("equity.csv");
    equity.setData(points.map((p) => ({ time: seconds(p[0]), value: Number(p[1]) })));
    equityChart.timeScale().fitContent();
    // The candles of the first symbol (up to 1,000 from the start), each trade on the candle it was judged on (its time is that candle's close).
    const bar = (Date.parse(points[1]?.[0] ?? b.to) - Date.parse(b.from)) || hour;
    const klines = await get<Kline[]>(`/market/ohlcv?symbol=${encodeURIComponent(b.symbols[0])}&timeframe=${b.timeframe}&since=${Date.parse(b.from)}&limit=1000`);
    candles.setData(klines.filter((k) => k[0] < Date.parse(b.to)).map((k) => ({ time: Math.floor(k[0] / 1000) as UTCTimestamp, open: k[1], high: k[2], low: k[3], close: k[4] })));
    const onCandle = (iso: string) => Math.floor((Date.parse(iso) - bar) / 1000) as UTCTimestamp;
    const trades = (await csv("trades.csv")).filter((t) => t[1] === b.symbols[0]);
    const marks: SeriesMarker<Time>[] = trades.flatMap((t) => [
      { time: onCandle(t[2]), position: "belowBar" as const, shape: "arrowUp" as const, color: "#0a7d36", text: `buy #${t[0]}` },
      ...(t[8] ? [{ time: onCandle(t[8]), position: "aboveBar" as const, shape: "arrowDown" as const, color: "#b3261e", text: `sell #${t[0]}` }] : []),
    ]).sort((x, y) => Number(x.time) - Number(y.time));
    markers.setMarkers(marks);
    candleChart.timeScale().fitContent();
    marked.textContent = `${marks.filter((m) => m.shape === "arrowUp").length} buy(s), ${marks.filter((m) => m.shape === "arrowDown").length} sell(s) on the chart`;
  };
  const unsubscribe = events.subscribe((type, data) => { if (type === "job.progress" && Number(data.job_id) === id) void load(); });
  await load();
  return () => {
    unsubscribe();
    equityChart.remove();
    candleChart.remove();
  };
}
