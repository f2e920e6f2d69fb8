// Usage over a chosen range: for the signed-in API key its own (GET /v1/usage with a report),
// for an admin every key's (GET /admin/v1/usage); requests, tokens and cost per group as
// charts and a table, and the same report as CSV.
import { download, getJson, query } from "./api.js";
import { barChart } from "./charts.js";
import { field, formatCount, formatUsd, h, isoDate, notice, replace } from "./dom.js";
import { key } from "./session.js";

export const title = "Usage";

const SCOPES = {
  own: { label: "My API key", path: "/v1/usage", auth: "api", groups: ["day", "model"] },
  all: { label: "All keys (admin)", path: "/admin/v1/usage", auth: "admin", groups: ["key", "provider", "day", "model"] },
};

export function render(container) {
  const scopes = Object.entries(SCOPES).filter(([, scope]) => key(scope.auth));
  const scope = h("select", { id: "usage-scope" },
    ...scopes.map(([name, s]) => h("option", { value: name }, s.label)));
  const groupBy = h("select", { id: "usage-group" });
  const today = new Date();
  const from = h("input", { id: "usage-from", type: "date", value: isoDate(new Date(today.getTime() - 6 * 864e5)) });
  const to = h("input", { id: "usage-to", type: "date", value: isoDate(today) });
  const keyFilter = h("input", { id: "usage-key", type: "text", placeholder: "key_…" });
  const keyField = field("Key id", keyFilter);
  const result = h("div", { id: "usage-result", "aria-live": "polite" });
  const exportButton = h("button", { type: "button", class: "secondary", id: "usage-csv" }, "Export CSV");
  const form = h("form", { class: "card filters", "aria-label": "Usage range" },
    field("Usage of", scope), field("Group by", groupBy), field("From", from),
    field("To (inclusive)", to), keyField,
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Show"), exportButton));
  const fillGroups = () => {
    const selected = SCOPES[scope.value];
    replace(groupBy, ...selected.groups.map((g) => h("option", { value: g }, `per ${g}`)));
    keyField.hidden = scope.value !== "all";
  };
  const params = (format) => {
    // `to` is exclusive in the API: the day after the last day shown.
    const end = to.value ? isoDate(new Date(Date.parse(to.value) + 864e5)) : "";
    return query({ group_by: groupBy.value, from: from.value, to: end, format,
      key_id: scope.value === "all" ? keyFilter.value.trim() : "" });
  };
  const show = () => load(SCOPES[scope.value], params(), result);
  scope.addEventListener("change", () => { fillGroups(); show(); });
  form.addEventListener("submit", (event) => { event.preventDefault(); show(); });
  exportButton.addEventListener("click", async () => {
    const selected = SCOPES[scope.value];
    try {
      await download(`${selected.path}${params("csv")}`, `usage-${groupBy.value}-${from.value}-${to.value}.csv`,
        { auth: selected.auth, accept: "text/csv" });
    } catch (error) {
      replace(result, notice("error", `CSV export failed. ${describe(error)}`));
    }
  });
  container.append(h("h1", {}, "Usage"), form, result);
  if (!scopes.length) {
    replace(result, notice("info", "Sign in with a key to see usage."));
    return null;
  }
  fillGroups();
  show();
  return null;
}

async function load(scope, params, result) {
  replace(result, notice("info", "Loading…"));
  let report;
  try {
    const answer = await getJson(`${scope.path}${params}`, { auth: scope.auth });
    report = scope.auth === "api" ? answer.report : answer;
  } catch (error) {
    if (error.missingEndpoint) {
      replace(result, notice("info", "This gateway has no usage reports yet (the admin usage API is not installed)."));
    } else {
      replace(result, notice("error", describe(error)));
    }
    return;
  }
  if (!report || !Array.isArray(report.rows)) {
    replace(result, notice("info", "This gateway does not report stored usage by day or model yet (GET /v1/usage has no report)."));
    return;
  }
  replace(result, ...charts(report), table(report));
}

function charts(report) {
  const labels = report.rows.map((row) => String(row.group));
  const column = (name) => report.rows.map((row) => row[name]);
  return [h("div", { class: "charts" },
    barChart({ id: "chart-requests", title: "Requests", labels, format: formatCount,
      series: [{ name: "requests", values: column("requests") }, { name: "errors", values: column("errors"), className: "bar-error" }] }),
    barChart({ id: "chart-tokens", title: "Tokens", labels, format: formatCount, stacked: true,
      series: [{ name: "prompt", values: column("prompt_tokens") }, { name: "completion", values: column("completion_tokens"), className: "bar-second" }] }),
    column("cost_usd").some((cost) => cost !== null)
      ? barChart({ id: "chart-cost", title: "Cost (USD)", labels, format: formatUsd,
        series: [{ name: "cost", values: column("cost_usd"), className: "bar-cost" }] })
      : h("figure", { class: "chart-figure", id: "chart-cost" }, notice("info",
        "No known cost in this range: no request was of a priced model."),
      h("figcaption", {}, h("span", { class: "chart-title" }, "Cost (USD)"))))];
}

function table(report) {
  const head = ["Group", "Requests", "Prompt tokens", "Completion tokens", "Total tokens", "Cost", "Unpriced requests", "Errors"];
  const cells = (row) => [formatCount(row.requests), formatCount(row.prompt_tokens), formatCount(row.completion_tokens),
    formatCount(row.total_tokens), formatUsd(row.cost_usd), formatCount(row.unpriced_requests), formatCount(row.errors)]
    .map((value) => h("td", { class: "number" }, value));
  return h("div", { class: "table-wrap" }, h("table", { id: "usage-table" },
    h("caption", {}, `Usage per ${report.group_by}`),
    h("thead", {}, h("tr", {}, ...head.map((name) => h("th", { scope: "col" }, name)))),
    h("tbody", {}, ...report.rows.map((row) => h("tr", {}, h("th", { scope: "row" }, String(row.group)), ...cells(row)))),
    report.total ? h("tfoot", {}, h("tr", {}, h("th", { scope: "row" }, "Total"), ...cells(report.total))) : null));
}

function describe(error) {
  return error.describe ? error.describe() : String(error);
}
