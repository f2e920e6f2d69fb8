// Keys (admin): create one (its secret shown once, with a copy button), list and filter them,
// change a key's budgets, allowed models or expiry, revoke it. All through /admin/v1/keys.
import { getJson, query, send } from "./api.js";
import { field, formatTime, h, notice, replace } from "./dom.js";
import { key } from "./session.js";

export const title = "Keys";

const BUDGETS = [
  ["tokens_per_day", "Tokens per day", 1],
  ["tokens_per_month", "Tokens per month", 1],
  ["usd_per_day", "USD per day", 0.01],
  ["usd_per_month", "USD per month", 0.01],
];

export function render(container) {
  container.append(h("h1", {}, "Keys"));
  if (!key("admin")) {
    container.append(notice("info", "Managing keys needs an admin key. ", h("a", { href: "#signin" }, "Add an admin key"), "."));
    return null;
  }
  const list = new KeyList();
  container.append(createForm(list), list.filters(), list.element);
  list.load();
  return null;
}

/** The fields a key can be given or changed with, prefilled from `current` (an edit). */
function keyFields(prefix, current = {}) {
  const budgets = current.budgets || {};
  const inputs = {
    allowed_models: h("input", { id: `${prefix}-models`, type: "text", value: (current.allowed_models || []).join(", "),
      placeholder: "all models" }),
    expires_at: h("input", { id: `${prefix}-expires`, type: "datetime-local",
      value: current.expires_at ? current.expires_at.slice(0, 16) : "" }),
  };
  for (const [name, , step] of BUDGETS) {
    inputs[name] = h("input", { id: `${prefix}-${name}`, type: "number", min: 0, step, value: budgets[name] ?? "" });
  }
  const fields = [
    ...BUDGETS.map(([name, label]) => field(label, inputs[name])),
    field("Allowed models", inputs.allowed_models, "Comma-separated, * as a wildcard (ollama/*); empty: every model."),
    field("Expires (UTC)", inputs.expires_at),
  ];
  const values = () => {
    const budgetsValue = {};
    for (const [name] of BUDGETS) budgetsValue[name] = inputs[name].value === "" ? null : Number(inputs[name].value);
    const models = inputs.allowed_models.value.split(",").map((m) => m.trim()).filter(Boolean);
    return {
      budgets: budgetsValue,
      allowed_models: models.length ? models : null,
      expires_at: inputs.expires_at.value ? `${inputs.expires_at.value}:00Z` : null,
    };
  };
  return { fields, values };
}

function createForm(list) {
  const name = h("input", { id: "key-name", type: "text", required: true, maxlength: 200 });
  const owner = h("input", { id: "key-owner", type: "text" });
  const tier = h("input", { id: "key-tier", type: "text" });
  const more = keyFields("key-new");
  const result = h("div", { id: "key-created", "aria-live": "polite" });
  const form = h("form", { class: "card", "aria-labelledby": "key-create-title" },
    h("h2", { id: "key-create-title" }, "Create a key"),
    h("div", { class: "grid-fields" }, field("Name", name), field("Owner", owner), field("Tier", tier), ...more.fields),
    h("div", { class: "actions" }, h("button", { type: "submit", id: "key-create" }, "Create key")), result);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { name: name.value.trim(), owner: owner.value.trim() || null, tier: tier.value.trim() || null, ...more.values() };
    try {
      const created = await getJson("/admin/v1/keys", { method: "POST", body, auth: "admin" });
      replace(result, secretBox(created));
      form.reset();
      list.load();
    } catch (error) {
      replace(result, notice("error", explain(error)));
    }
  });
  return form;
}

/** The new key's secret, shown this once, with a button that copies it. */
function secretBox(created) {
  const secret = h("code", { id: "key-secret", class: "secret" }, created.secret);
  const copied = h("span", { role: "status", class: "hint" });
  const copy = h("button", { type: "button", id: "key-copy", onclick: async () => {
    try {
      await navigator.clipboard.writeText(created.secret);
      copied.textContent = "Copied.";
    } catch {
      getSelection().selectAllChildren(secret);
      copied.textContent = "Selected: press Ctrl+C to copy.";
    }
  } }, "Copy");
  return h("div", { class: "notice notice-ok secret-box" },
    h("p", {}, `Key “${created.name}” created (${created.id}). Copy its secret now: it is not shown again.`),
    h("div", { class: "secret-row" }, secret, copy, copied));
}

class KeyList {
  constructor() {
    this.element = h("section", { class: "card", "aria-labelledby": "key-list-title" });
    this.inputs = {
      status: h("select", { id: "keys-status" }, h("option", { value: "" }, "any"),
        ...["active", "revoked", "expired"].map((s) => h("option", { value: s }, s))),
      owner: h("input", { id: "keys-owner", type: "text" }),
      name: h("input", { id: "keys-name", type: "text" }),
      source: h("select", { id: "keys-source" }, h("option", { value: "" }, "any"),
        h("option", { value: "database" }, "database"), h("option", { value: "settings" }, "settings")),
    };
  }

  filters() {
    const form = h("form", { class: "card filters", "aria-label": "Key filters" },
      field("Status", this.inputs.status), field("Owner", this.inputs.owner), field("Name", this.inputs.name),
      field("Source", this.inputs.source), h("div", { class: "actions" }, h("button", { type: "submit" }, "Filter")));
    form.addEventListener("submit", (event) => { event.preventDefault(); this.load(); });
    return form;
  }

  async load(cursor = null) {
    const params = { limit: 50, cursor };
    for (const [name, input] of Object.entries(this.inputs)) params[name] = input.value.trim();
    if (!cursor) replace(this.element, h("h2", { id: "key-list-title" }, "Keys"), notice("info", "Loading…"));
    let page;
    try {
      page = await getJson(`/admin/v1/keys${query(params)}`, { auth: "admin" });
    } catch (error) {
      replace(this.element, h("h2", { id: "key-list-title" }, "Keys"), notice(error.missingEndpoint ? "info" : "error", explain(error)));
      return;
    }
    if (!cursor) {
      this.body = h("tbody", {});
      replace(this.element, h("h2", { id: "key-list-title" }, "Keys"), h("div", { class: "table-wrap" },
        h("table", { id: "keys-table" }, h("thead", {}, h("tr", {}, ...["Name", "Id", "Key", "Owner", "Status",
          "Budgets", "Models", "Expires", "Actions"].map((c) => h("th", { scope: "col" }, c)))), this.body)));
    }
    this.more?.remove();
    for (const item of page.data) this.body.append(...this.rows(item));
    if (!page.data.length && !cursor) this.body.append(h("tr", {}, h("td", { colspan: 9 }, "No key matches.")));
    if (page.next_cursor) {
      this.more = h("button", { type: "button", class: "secondary", onclick: () => this.load(page.next_cursor) }, "Load more");
      this.element.append(this.more);
    }
  }

  rows(item) {
    const budgets = Object.entries(item.budgets || {}).filter(([, v]) => v !== null).map(([k, v]) => `${k.replaceAll("_", " ")}: ${v}`);
    const editable = item.source !== "settings";
    const actions = h("td", { class: "actions-cell" });
    const row = h("tr", { dataset: { keyId: item.id, status: item.status } },
      h("th", { scope: "row" }, item.name), h("td", {}, h("code", {}, item.id)), h("td", {}, h("code", {}, item.hint || "")),
      h("td", {}, item.owner || "–"), h("td", {}, h("span", { class: `status status-${item.status}` }, item.status)),
      h("td", {}, budgets.join(", ") || "none"), h("td", {}, (item.allowed_models || ["all"]).join(", ")),
      h("td", {}, formatTime(item.expires_at)), actions);
    const editRow = h("tr", { class: "edit-row", hidden: true }, h("td", { colspan: 9 }));
    if (!editable) actions.append(h("span", { class: "hint" }, "from settings (read-only)"));
    else if (item.status !== "revoked") {
      actions.append(
        h("button", { type: "button", class: "secondary", "aria-label": `Edit ${item.name}`,
          onclick: () => this.edit(item, editRow) }, "Edit"),
        revokeButton(item, () => this.load()));
    }
    return [row, editRow];
  }

  edit(item, editRow) {
    const cell = editRow.firstChild;
    if (!editRow.hidden) {
      editRow.hidden = true;
      return;
    }
    const form = keyFields(`edit-${item.id}`, item);
    const message = h("div", {});
    const element = h("form", { class: "edit-form", "aria-label": `Change ${item.name}` },
      h("div", { class: "grid-fields" }, ...form.fields),
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Save"),
        h("button", { type: "button", class: "secondary", onclick: () => { editRow.hidden = true; } }, "Cancel")), message);
    element.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await send(`/admin/v1/keys/${encodeURIComponent(item.id)}`, { method: "PATCH", body: form.values(), auth: "admin" });
        this.load();
      } catch (error) {
        replace(message, notice("error", explain(error)));
      }
    });
    replace(cell, element);
    editRow.hidden = false;
    element.querySelector("input")?.focus();
  }
}

/** Revoke in two steps: the first press asks, the second revokes. */
function revokeButton(item, reload) {
  const button = h("button", { type: "button", class: "danger", "aria-label": `Revoke ${item.name}` }, "Revoke");
  button.addEventListener("click", async () => {
    if (button.dataset.confirming !== "yes") {
      button.dataset.confirming = "yes";
      button.textContent = "Confirm revoke";
      return;
    }
    try {
      await send(`/admin/v1/keys/${encodeURIComponent(item.id)}`, { method: "DELETE", auth: "admin" });
      reload();
    } catch (error) {
      button.replaceWith(notice("error", explain(error)));
    }
  });
  return button;
}

function explain(error) {
  if (error.missingEndpoint) return "This gateway has no key management API yet (/admin/v1/keys is not installed).";
  return error.describe ? error.describe() : String(error);
}
