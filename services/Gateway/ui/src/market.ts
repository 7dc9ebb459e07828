import { CandlestickSeries, createChart, type UTCTimestamp } from "lightweight-charts";
import { ApiError, get, type Bot, type Kline } from "./api";
import { amount, h } from "./dom";

// The market: tickers of the symbols the bots use (refreshed every 2 s), and a candle chart of any symbol and timeframe.

interface Ticker { symbol: string; last: number; bid: number | null; ask: number | null; percentage: number | null; quote_volume: number | null }

export async function marketPage(root: HTMLElement): Promise<() => void> {
  const { bots } = await get<{ bots: Bot[] }>("/bots");
  const symbols = [...new Set(["BTC/USDT", "ETH/USDT", ...bots.flatMap((b) => b.symbols)])].sort();
  const rows = h("tbody");
  const error = h("p", { class: "error", role: "alert" });
  const symbol = h("input", { name: "symbol", value: symbols[0], "aria-label": "Chart symbol" });
  const timeframe = h("select", { name: "timeframe", "aria-label": "Chart timeframe" },
    ...["1s", "1m", "5m", "15m", "1h", "4h", "1d"].map((t) => h("option", { value: t, selected: t === "1m" }, t)));
  const box = h("div", { class: "chart", role: "img", "aria-label": "Market candles" });
  root.replaceChildren(h("h1", {}, "Market"),
    h("table", { "aria-label": "Tickers" }, h("thead", {}, h("tr", {}, ...["Symbol", "Last", "Bid", "Ask", "24 h %", "24 h quote volume"]
      .map((c) => h("th", { scope: "col" }, c)))), rows),
    h("form", { class: "inline", "aria-label": "Chart", onsubmit: (e: Event) => { e.preventDefault(); void draw(); } },
      symbol, timeframe, h("button", { type: "submit" }, "Show")),
    error, box);

  const chart = createChart(box, { height: 300, autoSize: true, timeScale: { timeVisible: true } });
  const candles = chart.addSeries(CandlestickSeries, {});
  async function draw(): Promise<void> {
    try {
      const klines = await get<Kline[]>(`/market/ohlcv?symbol=${encodeURIComponent(symbol.value.trim())}&timeframe=${timeframe.value}&limit=300`);
      candles.setData(klines.map((k) => ({ time: Math.floor(k[0] / 1000) as UTCTimestamp, open: k[1], high: k[2], low: k[3], close: k[4] })));
      error.textContent = "";
    } catch (e) {
      error.textContent = e instanceof ApiError ? e.summary : String(e);
    }
  }
  async function tickers(): Promise<void> {
    try {
      const all = await get<Record<string, Ticker>>(`/market/tickers?symbols=${encodeURIComponent(symbols.join(","))}`);
      rows.replaceChildren(...symbols.filter((s) => all[s]).map((s) => {
        const t = all[s];
        return h("tr", { "data-symbol": s }, h("td", {}, s), h("td", { class: "number" }, amount(t.last, 8)), h("td", { class: "number" }, amount(t.bid, 8)),
          h("td", { class: "number" }, amount(t.ask, 8)), h("td", { class: `number ${(t.percentage ?? 0) < 0 ? "loss" : "gain"}` }, amount(t.percentage, 2)),
          h("td", { class: "number" }, amount(t.quote_volume, 0)));
      }));
    } catch (e) {
      error.textContent = e instanceof ApiError ? e.summary : String(e);
    }
  }
  await Promise.all([tickers(), draw()]);
  const timer = window.setInterval(() => void tickers(), 2000);
  return () => {
    window.clearInterval(timer);
    chart.remove();
  };
}
