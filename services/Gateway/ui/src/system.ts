import { h } from "./dom";

// The system page: the gateway's /health with every dependency's check, and the API reference.

interface Health { status: string; checks: Record<string, { status: string; duration_ms: number }> }

export async function systemPage(root: HTMLElement): Promise<() => void> {
  const response = await fetch("/api/health");
  const health = (await response.json()) as Health;
  root.replaceChildren(
    h("h1", {}, "System"),
    h("p", { class: `status ${health.status.toLowerCase()}` }, `Overall: ${health.status}`),
    h("table", { "aria-label": "Health checks" },
      h("thead", {}, h("tr", {}, ...["Dependency", "Status", "ms"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, ...Object.entries(health.checks).map(([name, check]) => h("tr", {},
        h("td", {}, name), h("td", { class: `status ${check.status.toLowerCase()}` }, check.status),
        h("td", { class: "number" }, String(check.duration_ms)))))),
    h("p", {}, "API reference: ", h("a", { href: "/scalar/" }, "every service's OpenAPI document"), "; live events: ", h("code", {}, "GET /api/sse")));
  return () => {};
}
