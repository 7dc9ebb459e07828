import { ApiError, get, post, usable, type Bot, type BotDetails, type Job, type Strategy } from "./api";
import { amount, h } from "./dom";
import type { EventStream } from "./events";

// Parameter searches: the list and the form (/ui/optimizations), and one search (/ui/optimizations/{id}): its progress,
// its best trials (in-sample against out-of-sample when it walked forward), the heat map, and a button per trial that
// starts a bot with that trial's knobs.

type Knobs = Record<string, number | string | boolean>;
interface Trial {
  rank: number; trial: number; knobs: Knobs; score: number | null; in_sample: number | null; out_of_sample: number | null;
  total_return: number; max_drawdown: number; trade_count: number;
}
interface Optimization {
  id: number; strategy: string; version: number; knobs: Knobs; symbols: string[]; timeframe: string; from: string; to: string;
  search: { metric: string; search: string; folds: number; ranges: { knob: string }[] }; job: Job;
  summary: { metric: string; trials: number; skipped: number; best: Trial[] } | null; artifacts: { name: string; url: string }[];
}

const hour = 3_600_000;
const score = (value: number | null) => amount(value, 6);

export async function optimizationsPage(root: HTMLElement, events: EventStream): Promise<() => void> {
  const strategies = usable((await get<{ strategies: Strategy[] }>("/strategies")).strategies);
  const body = h("tbody");
  let asked = 0;
  const draw = async () => {
    const mine = ++asked;
    const { optimizations } = await get<{ optimizations: Optimization[] }>("/optimizations");
    if (mine !== asked) return;
    body.replaceChildren(...optimizations.map((o) => h("tr", { "data-optimization": String(o.id) },
      h("td", {}, h("a", { href: `/ui/optimizations/${o.id}` }, `#${o.id}`)), h("td", {}, `${o.strategy}@${o.version}`), h("td", {}, o.symbols.join(", ")),
      h("td", {}, `${o.timeframe} ${o.from.slice(0, 16)} → ${o.to.slice(0, 16)}`), h("td", {}, o.search.metric),
      h("td", { class: `status ${o.job.status}` }, `${o.job.status} ${o.job.progress}%`),
      h("td", { class: "number" }, o.summary?.best[0] ? score(o.summary.best[0].score) : "—"))));
  };
  const now = Math.floor(Date.now() / hour) * hour;
  const error = h("p", { class: "error", role: "alert", id: "form-error" });
  const input = (name: string, value: string, label: string, hint?: string) =>
    h("label", {}, h("span", {}, label), h("input", { name, value, "aria-label": label }), hint ? h("small", {}, hint) : null);
  const select = (name: string, label: string, options: string[]) =>
    h("label", {}, h("span", {}, label), h("select", { name, "aria-label": label }, ...options.map((o) => h("option", { value: o }, o))));
  const form = h("form", { "aria-label": "New search" }, h("h2", {}, "New search"),
    select("strategy", "Strategy", strategies.map((s) => `${s.name}@${s.version}`)),
    input("symbols", "BTC/USDT", "Symbols", "comma-separated, one quote currency"),
    input("timeframe", "1h", "Timeframe", "1s … 1d"),
    input("from", new Date(now - 30 * 24 * hour).toISOString().slice(0, 19) + "Z", "From", "a candle's open time, UTC"),
    input("to", new Date(now).toISOString().slice(0, 19) + "Z", "To", "not in the future"),
    input("knobs", "{}", "Base knobs (JSON)", "knobs every trial shares"),
    input("ranges", '[{"knob": "fast", "from": 3, "to": 12, "step": 1}, {"knob": "slow", "from": 15, "to": 30, "step": 5}]', "Ranges (JSON)",
      "the knobs searched: from, to, step (two knobs draw a heat map)"),
    select("metric", "Metric", ["sharpe", "sortino", "total_return", "max_drawdown", "profit_factor"]),
    select("search", "Search", ["grid", "random"]),
    input("trials", "100", "Trials", "random search: how many (drawn with the seed)"),
    input("seed", "1", "Seed", "random search"),
    input("folds", "0", "Walk-forward folds", "0 to 10: tune on each window, score on the next"),
    h("button", { type: "submit" }, "Run search"), error);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const values = new FormData(form);
    const random = values.get("search") === "random";
    error.textContent = "";
    try {
      const created = await post<Optimization>("/optimizations", {
        strategy: values.get("strategy"), timeframe: values.get("timeframe"), from: values.get("from"), to: values.get("to"),
        symbols: String(values.get("symbols")).split(",").map((s) => s.trim()).filter((s) => s.length > 0),
        knobs: JSON.parse(String(values.get("knobs")) || "{}"), ranges: JSON.parse(String(values.get("ranges")) || "[]"),
        metric: values.get("metric"), search: values.get("search"), folds: Number(values.get("folds")),
        ...(random ? { trials: Number(values.get("trials")), seed: Number(values.get("seed")) } : {}),
      });
      history.pushState(null, "", `/ui/optimizations/${created.id}`);
      window.dispatchEvent(new PopStateEvent("popstate"));
    } catch (err) {
      error.textContent = err instanceof ApiError ? err.summary : `knobs or ranges: ${String(err)}`;
    }
  });
  root.replaceChildren(h("h1", {}, "Parameter search"),
    h("table", { "aria-label": "Searches" }, h("thead", {}, h("tr", {}, ...["Search", "Strategy", "Symbols", "Range", "Metric", "Status", "Best score"]
      .map((c) => h("th", { scope: "col" }, c)))), body), form);
  const unsubscribe = events.subscribe((type, data) => { if (type === "job.progress" && data.bot_id === null) void draw(); });
  await draw();
  return unsubscribe;
}

export async function optimizationPage(root: HTMLElement, events: EventStream, id: number): Promise<() => void> {
  const status = h("p", { role: "status", "aria-label": "Search status" });
  const progress = h("progress", { max: "100", "aria-label": "Search progress" });
  const cancel = h("button", { type: "button", "aria-label": `cancel search ${id}` }, "Cancel");
  const best = h("tbody");
  const error = h("p", { class: "error", role: "alert", id: "start-error" });
  const files = h("p", { class: "chart-summary", "aria-label": "Artifacts" });
  const heat = h("div", { "aria-label": "Heat map" });
  root.replaceChildren(h("h1", {}, `Search #${id}`), h("div", { class: "bar" }, status, cancel), progress,
    h("h2", {}, "Best trials"),
    h("table", { "aria-label": "Best trials" }, h("thead", {}, h("tr", {}, ...["Rank", "Knobs", "Score", "In-sample", "Out-of-sample", "Return",
      "Max drawdown", "Trades", ""].map((c) => h("th", { scope: "col" }, c)))), best), error, files, heat);
  cancel.onclick = async () => { await post(`/jobs/${id}/cancel`).catch(() => undefined); await load(); };

  /** A bot on the search's strategy, symbols and timeframe, with its base knobs and the trial's, created and started. */
  const startBot = async (o: Optimization, trial: Trial) => {
    error.textContent = "";
    try {
      const created = await post<BotDetails>("/bots", {
        name: `${o.strategy}-search${o.id}-rank${trial.rank}`, symbols: o.symbols, timeframe: o.timeframe, strategy: `${o.strategy}@${o.version}`,
        knobs: { ...o.knobs, ...trial.knobs },
      });
      const bot: Bot = created.bot;
      await post(`/bots/${bot.id}/start`);
      history.pushState(null, "", `/ui/bots/${bot.id}`);
      window.dispatchEvent(new PopStateEvent("popstate"));
    } catch (err) {
      error.textContent = err instanceof ApiError ? err.summary : String(err);
    }
  };

  let drawn = false;
  let asked = 0;
  const load = async () => {
    const mine = ++asked;
    const o = await get<Optimization>(`/optimizations/${id}`);
    if (mine !== asked) return;
    status.textContent = `${o.job.status} · ${o.strategy}@${o.version} · ${o.symbols.join(", ")} ${o.timeframe} · ${o.search.metric} · ${o.job.message ?? ""}`;
    progress.value = o.job.progress;
    cancel.hidden = o.job.status !== "queued" && o.job.status !== "running";
    if (!o.summary || drawn) return;
    drawn = true;
    // A trial's knobs in the order of the search's ranges.
    const order = o.search.ranges.map((r) => r.knob);
    const knobsOf = (t: Trial) => Object.entries(t.knobs).sort(([a], [b]) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99))
      .map(([k, v]) => `${k} ${v}`).join(", ");
    best.replaceChildren(...o.summary.best.map((t) => h("tr", { "data-rank": String(t.rank) },
      h("td", { class: "number" }, String(t.rank)), h("td", {}, knobsOf(t)),
      h("td", { class: "number" }, score(t.score)), h("td", { class: "number" }, score(t.in_sample)), h("td", { class: "number" }, score(t.out_of_sample)),
      h("td", { class: "number" }, `${amount(t.total_return * 100, 2)} %`), h("td", { class: "number" }, `${amount(t.max_drawdown * 100, 2)} %`),
      h("td", { class: "number" }, String(t.trade_count)),
      h("td", {}, h("button", { type: "button", "aria-label": `start a bot with the knobs of rank ${t.rank}`, onclick: () => void startBot(o, t) }, "Start a bot")))));
    files.replaceChildren("Files: ", ...o.artifacts.flatMap((a) => [h("a", { href: `/api${a.url}` }, a.name), " "]));
    const map = o.artifacts.find((a) => a.name === "heatmap.png");
    heat.replaceChildren(...(map ? [h("h2", {}, "Heat map"), h("img", { src: `/api${map.url}`, alt: `heat map of ${o.summary.metric} over the two searched knobs` })] : []));
  };
  const unsubscribe = events.subscribe((type, data) => { if (type === "job.progress" && data.job_id === id) void load(); });
  await load();
  return unsubscribe;
}
