import { ApiError, get, post, type Trade } from "./api";
import { amount, h } from "./dom";
import type { EventStream } from "./events";

// Manual paper trading: the order form of POST /orders (buy by quote or base amount, sell), and the open trades with a
// close button each. The API's refusals are shown as they come, next to their fields.

export async function tradePage(root: HTMLElement, events: EventStream): Promise<() => void> {
  const errors = new Map<string, HTMLElement>();
  const field = (label: string, name: string, input: HTMLElement) => {
    const error = h("span", { class: "error", id: `order-${name}-error`, role: "alert" });
    errors.set(name, error);
    input.setAttribute("aria-describedby", error.id);
    return h("label", {}, h("span", {}, label), input, error);
  };
  const result = h("p", { role: "status", class: "message", "aria-label": "Order result" });
  const form = h("form", { "aria-label": "Paper order" },
    h("h2", {}, "Paper market order"),
    field("Symbol", "symbol", h("input", { name: "symbol", value: "BTC/USDT" })),
    field("Side", "side", h("select", { name: "side" }, h("option", { value: "buy" }, "buy"), h("option", { value: "sell" }, "sell"))),
    field("Amount in", "unit", h("select", { name: "unit" }, h("option", { value: "quote_amount" }, "quote (e.g. USDT)"), h("option", { value: "base_qty" }, "base (e.g. BTC)"))),
    field("Amount", "amount", h("input", { name: "amount", inputmode: "decimal", value: "100" })),
    field("Bot id (empty: the manual account)", "bot_id", h("input", { name: "bot_id", inputmode: "numeric" })),
    h("button", { type: "submit" }, "Place order"), result);
  const open = h("tbody");
  root.replaceChildren(h("h1", {}, "Manual trading"), form, h("h2", {}, "Open trades"),
    h("table", { "aria-label": "Open trades" }, h("thead", {}, h("tr", {}, ...["Trade", "Bot", "Symbol", "Qty", "Entry", "Unrealized PnL", ""]
      .map((c) => h("th", { scope: "col" }, c)))), open));

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    for (const error of errors.values()) error.textContent = "";
    const values = new FormData(form);
    const order: Record<string, unknown> = { symbol: String(values.get("symbol")).trim(), side: values.get("side"), type: "market" };
    const unit = String(values.get("unit"));
    order[unit] = Number(String(values.get("amount")).trim());
    if (String(values.get("amount")).trim() === "" || Number.isNaN(order[unit])) order[unit] = String(values.get("amount"));
    if (String(values.get("bot_id")).trim() !== "") order.bot_id = Number(values.get("bot_id"));
    try {
      const placed = await post<{ order: { id: number; base_qty: number; price: number; fee_quote: number }; trade_id: number | null }>("/orders", order);
      result.textContent = `order ${placed.order.id} filled${placed.trade_id ? ` (trade ${placed.trade_id})` : ""}: ${amount(placed.order.base_qty, 12)} at ${amount(placed.order.price, 8)}, fee ${amount(placed.order.fee_quote, 12)}`;
      await refresh();
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      result.textContent = err.summary;
      for (const [name, reasons] of Object.entries(err.problem.errors ?? {})) {
        (errors.get(name) ?? errors.get(name === "quote_amount" || name === "base_qty" ? "amount" : ""))?.append(reasons.join("; "));
      }
    }
  });

  // Reads may answer out of order (a click's and an event's): only the newest one asked is drawn.
  let asked = 0;
  async function refresh(): Promise<void> {
    const mine = ++asked;
    const { trades } = await get<{ trades: Trade[] }>("/trades?status=open&limit=100");
    if (mine !== asked) return;
    open.replaceChildren(...trades.map((t) => {
      const close = h("button", {
        type: "button", "aria-label": `close trade ${t.id}`,
        onclick: async () => {
          try {
            await post(`/trades/${t.id}/close`);
            result.textContent = `trade ${t.id} closed`;
          } catch (err) {
            result.textContent = err instanceof ApiError ? `trade ${t.id}: ${err.summary}` : String(err);
          }
          await refresh();
        },
      }, "Close");
      return h("tr", { "data-trade": String(t.id) }, h("td", {}, String(t.id)), h("td", {}, String(t.bot_id ?? "manual")),
        h("td", {}, t.symbol), h("td", { class: "number" }, amount(t.amount, 12)), h("td", { class: "number" }, amount(t.price, 8)),
        h("td", { class: "number" }, amount(t.unrealized_pnl_quote, 8)), h("td", {}, close));
    }));
  }
  // Following the events from before the first read, so nothing that happens while it loads is missed.
  const unsubscribe = events.subscribe((type) => { if (type.startsWith("trade.")) void refresh(); });
  await refresh();
  return unsubscribe;
}
