import { backtestPage, backtestsPage } from "./backtests";
import { botPage } from "./bot";
import { botsPage } from "./bots";
import { h } from "./dom";
import { EventStream, type StreamState } from "./events";
import { marketPage } from "./market";
import { optimizationPage, optimizationsPage } from "./optimizations";
import { systemPage } from "./system";
import { tradePage } from "./trade";

// The dashboard's shell: navigation, the live-stream indicator, and client-side routes under /ui/.

const pages: Record<string, (root: HTMLElement, events: EventStream) => Promise<() => void>> = {
  bots: botsPage,
  backtests: backtestsPage,
  optimizations: optimizationsPage,
  market: (root) => marketPage(root),
  trade: tradePage,
  system: (root) => systemPage(root),
};

const live = h("span", { class: "live", role: "status", "aria-label": "Live events" });
const labels: Record<StreamState, string> = { connecting: "connecting…", live: "live", reconnecting: "reconnecting…", reconnected: "live (reconnected)" };
const events = new EventStream((state) => {
  live.textContent = labels[state];
  live.dataset.state = state;
});
const main = h("main", {});
document.body.replaceChildren(
  h("header", {}, h("strong", {}, "TradingBots"), h("nav", { "aria-label": "Pages" },
    h("a", { href: "/ui/bots" }, "Bots"), h("a", { href: "/ui/backtests" }, "Backtests"), h("a", { href: "/ui/optimizations" }, "Search"), h("a", { href: "/ui/market" }, "Market"), h("a", { href: "/ui/trade" }, "Trade"),
    h("a", { href: "/ui/system" }, "System")), live),
  main);

let leave: () => void = () => {};

async function show(path: string): Promise<void> {
  leave();
  const [page, id] = path.replace(/^\/(ui\/?)?/, "").split("/");
  leave = page === "bots" && id ? await botPage(main, events, Number(id))
    : page === "backtests" && id ? await backtestPage(main, events, Number(id))
    : page === "optimizations" && id ? await optimizationPage(main, events, Number(id))
    : await (pages[page || "bots"] ?? pages.bots)(main, events);
}

document.addEventListener("click", (e) => {
  const link = (e.target as Element).closest("a");
  if (!link || !link.pathname.startsWith("/ui/") || link.origin !== location.origin) return;
  e.preventDefault();
  history.pushState(null, "", link.pathname);
  void show(link.pathname);
});
window.addEventListener("popstate", () => void show(location.pathname));
void show(location.pathname);
