import { ApiError, broken, get, post, usable, type Account, type Bot, type BotDetails, type Knob, type Strategy } from "./api";
import { amount, h } from "./dom";
import type { EventStream } from "./events";

// The bots page: every bot with its status, equity, open PnL and open trades, start and stop, and the create form with
// the chosen strategy's knobs; the API's refusals are shown next to their fields. Rows follow the event stream.

interface Row { bot: Bot; account: Account | null; openTrades: number; element: HTMLTableRowElement; asked: number }

export async function botsPage(root: HTMLElement, events: EventStream): Promise<() => void> {
  const rows = new Map<number, Row>();
  const body = h("tbody");
  const table = h("table", { "aria-label": "Bots" },
    h("thead", {}, h("tr", {}, ...["Name", "Strategy", "Symbols", "Status", "Equity", "Open PnL", "Open trades", ""].map((c) => h("th", { scope: "col" }, c)))),
    body);
  const message = h("p", { role: "status", class: "message" });
  root.replaceChildren(h("h1", {}, "Bots"), table, message, await createForm(async (bot) => { await add(bot); render(); }));

  async function add(bot: Bot): Promise<void> {
    const row: Row = { bot, account: null, openTrades: 0, element: h("tr", { "data-bot": String(bot.id) }), asked: 0 };
    rows.set(bot.id, row);
    await refresh(row);
  }

  // Refreshes of a row may answer out of order (a click's and an event's): only the newest one asked is drawn.
  async function refresh(row: Row): Promise<void> {
    const asked = ++row.asked;
    const [details, account] = await Promise.all([get<BotDetails>(`/bots/${row.bot.id}`), get<Account>(`/portfolio/${row.bot.id}`).catch(() => null)]);
    if (asked !== row.asked) return;
    row.bot = details.bot;
    row.openTrades = details.open_trades;
    row.account = account;
    draw(row);
  }

  function draw(row: Row): void {
    const { bot, account } = row;
    const action = bot.status === "running" || bot.status === "starting" ? "stop" : "start";
    const button = h("button", {
      type: "button", "aria-label": `${action} ${bot.name}`,
      onclick: async () => {
        button.disabled = true;
        try {
          await post(`/bots/${bot.id}/${action}`);
          message.textContent = "";
        } catch (e) {
          message.textContent = e instanceof ApiError ? `${bot.name}: ${e.summary}` : String(e);
        }
        await refresh(row);
      },
    }, action === "start" ? "Start" : "Stop");
    row.element.replaceChildren(
      h("td", {}, h("a", { href: `/ui/bots/${bot.id}` }, bot.name)),
      h("td", {}, `${bot.strategy}@${bot.strategy_version ?? "?"}`),
      h("td", {}, bot.symbols.join(", ")),
      h("td", { class: `status ${bot.status}` }, bot.status),
      h("td", { class: "number" }, amount(account?.equity)),
      h("td", { class: `number ${(account?.unrealized_pnl_quote ?? 0) < 0 ? "loss" : "gain"}` }, amount(account?.unrealized_pnl_quote, 4)),
      h("td", { class: "number" }, String(row.openTrades)),
      h("td", {}, button));
  }

  function render(): void {
    body.replaceChildren(...[...rows.values()].sort((a, b) => b.bot.id - a.bot.id).map((r) => r.element));
  }

  // Live, from before the rows load (the form is up already: a bot made and started meanwhile must not miss its events):
  // a state change or a trade refetches that bot's row; a snapshot moves its equity at once.
  const pending = new Map<number, number>();
  const unsubscribe = events.subscribe((type, data) => {
    const row = rows.get(Number(data.bot_id));
    if (!row) return;
    if (type === "portfolio.snapshot" && row.account) {
      row.account.equity = Number(data.equity);
      draw(row);
    }
    if (type === "bot.state" || type.startsWith("trade.")) {
      clearTimeout(pending.get(row.bot.id));
      pending.set(row.bot.id, window.setTimeout(() => void refresh(row), 100));
    }
  });

  // Every bot, page by page (newest first).
  for (let before: number | null = null; ;) {
    const page: { bots: Bot[]; next_before: number | null } = await get(`/bots?limit=500${before === null ? "" : `&before=${before}`}`);
    await Promise.all(page.bots.filter((bot) => !rows.has(bot.id)).map(add));
    if (page.next_before === null) break;
    before = page.next_before;
  }
  render();
  return unsubscribe;
}

/** A knob's input: a choice of its values (a boolean's, or a text knob's choices; left empty: its default), else a text or number field. */
function knobInput(k: Knob): HTMLElement {
  const name = `knobs.${k.name}`;
  const choices = k.type === "boolean" ? ["true", "false"] : k.choices;
  if (choices) {
    const byDefault = k.type === "boolean" && k.default !== null ? `default: ${k.default !== 0}` : "default";
    return h("select", { name }, h("option", { value: "" }, `(${byDefault})`), ...choices.map((c) => h("option", { value: c }, c)));
  }
  return h("input", { name, type: k.type === "text" ? "text" : "number", step: k.type === "integer" ? "1" : "any", placeholder: k.default === null ? "" : String(k.default) });
}

/** The create form: name, symbols, timeframe, strategy, and the strategy's own knobs (every bot's knobs too). */
async function createForm(created: (bot: Bot) => Promise<void>): Promise<HTMLFormElement> {
  const listed = (await get<{ strategies: Strategy[] }>("/strategies")).strategies;
  const strategies = usable(listed);
  const knobs = h("fieldset", {}, h("legend", {}, "Knobs"));
  const strategy = h("select", { name: "strategy", id: "strategy" }, ...strategies.map((s) => h("option", { value: `${s.name}@${s.version}` }, `${s.name}@${s.version}`)));
  const errors = new Map<string, HTMLElement>();
  const field = (label: string, name: string, input: HTMLElement, hint?: string) => {
    const error = h("span", { class: "error", id: `${name}-error`, role: "alert" });
    errors.set(name, error);
    input.setAttribute("aria-describedby", `${name}-error`);
    return h("label", {}, h("span", {}, label), input, hint ? h("small", {}, hint) : null, error);
  };
  const showKnobs = () => {
    const chosen = strategies.find((s) => `${s.name}@${s.version}` === strategy.value)!;
    knobs.replaceChildren(h("legend", {}, `Knobs of ${strategy.value}`), ...chosen.knobs.map((k: Knob) => field(k.name + (k.required ? " *" : ""), `knobs.${k.name}`,
      knobInput(k), k.description)));
  };
  strategy.addEventListener("change", showKnobs);
  const form = h("form", { "aria-label": "Create a bot" },
    h("h2", {}, "New bot"),
    field("Name", "name", h("input", { name: "name", required: true })),
    field("Symbols", "symbols", h("input", { name: "symbols", value: "BTC/USDT" }), "comma-separated, e.g. BTC/USDT, ETH/USDT"),
    field("Timeframe", "timeframe", h("input", { name: "timeframe", value: "1m" })),
    field("Strategy", "strategy", strategy, broken(listed).length > 0 ? `Not compiling (fix the file in strategies/): ${broken(listed).join(" · ")}` : undefined),
    knobs,
    h("button", { type: "submit" }, "Create bot"),
    h("p", { class: "error", role: "alert", id: "form-error" }));
  showKnobs();
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    for (const error of errors.values()) error.textContent = "";
    form.querySelector("#form-error")!.textContent = "";
    const values = new FormData(form);
    const knobValues: Record<string, number | string | boolean> = {};
    for (const [name, value] of values) {
      if (!name.startsWith("knobs.") || value === "") continue;
      const spec = strategies.flatMap((s) => s.knobs).find((k) => `knobs.${k.name}` === name);
      knobValues[name.slice(6)] = spec?.type === "text" ? String(value) : spec?.type === "boolean" ? value === "true" : Number(value);
    }
    try {
      const { bot } = await post<BotDetails>("/bots", {
        name: values.get("name"), timeframe: values.get("timeframe"), strategy: values.get("strategy"), knobs: knobValues,
        symbols: String(values.get("symbols")).split(",").map((s) => s.trim()).filter((s) => s.length > 0),
      });
      form.reset();
      showKnobs();
      await created(bot);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      const unplaced = Object.entries(err.problem.errors ?? {}).filter(([name, reasons]) => {
        const place = errors.get(name);
        if (place) place.textContent = reasons.join("; ");
        return !place;
      });
      form.querySelector("#form-error")!.textContent = unplaced.length > 0 || !err.problem.errors
        ? unplaced.map(([n, r]) => `${n}: ${r.join("; ")}`).join(" · ") || err.summary : "";
    }
  });
  return form;
}
