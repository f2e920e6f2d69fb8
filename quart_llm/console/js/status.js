// Status: each provider's health and breakers (GET /v1/health, public), and for an admin what
// the gateway carries now (GET /admin/v1/status): requests in flight, open streams, the quota
// store, deployments. Refreshed every few seconds while the page is shown.
import { getJson } from "./api.js";
import { formatCount, formatMs, h, notice, replace } from "./dom.js";
import { key } from "./session.js";

export const title = "Status";

const REFRESH_MS = 5000;

export function render(container) {
  const health = h("section", { class: "card", id: "status-health", "aria-labelledby": "status-health-title" });
  const gateway = h("section", { class: "card", id: "status-gateway", "aria-labelledby": "status-gateway-title" });
  const refresh = h("button", { type: "button", class: "secondary", id: "status-refresh" }, "Refresh");
  const updated = h("span", { class: "hint", role: "status" });
  container.append(h("div", { class: "title-row" }, h("h1", {}, "Status"), refresh, updated), health, gateway);
  const load = async () => {
    await Promise.all([loadHealth(health), loadGateway(gateway)]);
    updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
  };
  refresh.addEventListener("click", load);
  load();
  const timer = setInterval(load, REFRESH_MS);
  return () => clearInterval(timer);
}

async function loadHealth(section) {
  const heading = h("h2", { id: "status-health-title" }, "Providers");
  let report;
  try {
    report = await getJson("/v1/health", { auth: null });
  } catch (error) {
    replace(section, heading, notice("error", error.describe ? error.describe() : String(error)));
    return;
  }
  const rows = Object.entries(report.providers).map(([name, p]) => h("tr", { dataset: { provider: name } },
    h("th", { scope: "row" }, name), h("td", {}, p.kind),
    h("td", {}, h("span", { class: `status status-${p.reachable ? "ok" : "down"}` }, p.reachable ? "reachable" : `down (${p.error})`)),
    h("td", { class: "number" }, formatMs(p.latency_ms)),
    h("td", {}, h("span", { class: `status status-${p.circuit}` }, p.circuit.replace("_", "-"))),
    h("td", {}, Object.entries(p.models || {}).map(([model, state]) => `${model}: ${state}`).join(", ") || "all closed")));
  replace(section, heading,
    h("p", {}, "Gateway ", h("strong", { id: "status-overall", class: `status status-${report.status}` }, report.status),
      ` · version ${report.version}`),
    h("div", { class: "table-wrap" }, h("table", { id: "status-providers" },
      h("thead", {}, h("tr", {}, ...["Provider", "Kind", "Health", "Probe latency", "Breaker", "Model breakers"]
        .map((c) => h("th", { scope: "col" }, c)))), h("tbody", {}, ...rows))));
}

async function loadGateway(section) {
  const heading = h("h2", { id: "status-gateway-title" }, "Gateway load");
  if (!key("admin")) {
    replace(section, heading, notice("info", "Requests in flight, open streams, the quota store and deployments are "
      + "shown to admins. ", h("a", { href: "#signin" }, "Add an admin key"), "."));
    return;
  }
  let status;
  try {
    status = await getJson("/admin/v1/status", { auth: "admin" });
  } catch (error) {
    replace(section, heading, notice(error.missingEndpoint ? "info" : "error",
      error.missingEndpoint ? "This gateway has no status API." : error.describe ? error.describe() : String(error)));
    return;
  }
  const store = status.quota_store;
  const streams = Object.values(status.open_streams).reduce((a, b) => a + b, 0);
  const facts = [
    ["Requests in flight", `${formatCount(status.in_flight_requests)} of ${formatCount(status.max_in_flight_requests)}`],
    ["Open streams", `${formatCount(streams)}${streams ? ` (${Object.entries(status.open_streams).filter(([, n]) => n).map(([p, n]) => `${p}: ${n}`).join(", ")})` : ""}`],
    ["Quota store", `${store.kind}, ${store.reachable ? "reachable" : "unreachable"}, fails ${store.on_failure}, ${formatCount(store.failures)} failed calls`],
    ["Draining", status.draining ? "yes" : "no"],
  ];
  const deployments = Object.entries(status.deployments).flatMap(([alias, set]) => set.deployments.map((d) =>
    h("tr", {}, h("th", { scope: "row" }, alias), h("td", {}, set.strategy), h("td", {}, `${d.provider}/${d.model}`),
      h("td", { class: "number" }, formatCount(d.weight)), h("td", { class: "number" }, formatCount(d.in_flight_requests)),
      h("td", { class: "number" }, formatMs(d.latency_ms)))));
  replace(section, heading,
    h("dl", { class: "stats", id: "status-load" }, ...facts.flatMap(([name, value]) => [h("dt", {}, name), h("dd", {}, value)])),
    h("h3", {}, "Deployments"),
    deployments.length
      ? h("div", { class: "table-wrap" }, h("table", { id: "status-deployments" },
        h("thead", {}, h("tr", {}, ...["Alias", "Strategy", "Deployment", "Weight", "In flight", "Latency"]
          .map((c) => h("th", { scope: "col" }, c)))), h("tbody", {}, ...deployments)))
      : h("p", {}, "No alias is served by several deployments."));
}
