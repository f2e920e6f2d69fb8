// The console's shell: sign-in, the navigation between pages (by the URL's hash, so the
// browser's back button and bookmarks work), and who is signed in.
import { ApiError, send } from "./api.js";
import { field, h, notice, replace } from "./dom.js";
import * as keysPage from "./keys.js";
import * as playgroundPage from "./playground.js";
import { forgetAll, hint, key, remember, signedIn } from "./session.js";
import * as statusPage from "./status.js";
import * as usagePage from "./usage.js";

const PAGES = { playground: playgroundPage, usage: usagePage, keys: keysPage, status: statusPage };
const main = document.getElementById("main");
let leave = null;

function currentPage() {
  const name = location.hash.replace(/^#/, "");
  if (name === "signin" || !signedIn()) return "signin";
  return name in PAGES ? name : key("api") ? "playground" : "status";
}

function show() {
  if (leave) leave();
  leave = null;
  const name = currentPage();
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.page === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.getElementById("nav").hidden = !signedIn();
  renderWho();
  main.replaceChildren();
  leave = name === "signin" ? renderSignIn(main) : PAGES[name].render(main) || null;
  document.title = `${name === "signin" ? "Sign in" : PAGES[name].title} · quart_llm console`;
  // A new page takes the focus (a screen reader reads it; Tab goes on into it, Shift+Tab back
  // to the navigation), unless it put the focus on a field of its own.
  if (!main.contains(document.activeElement)) main.focus();
}

function renderWho() {
  const who = document.getElementById("who");
  if (!signedIn()) return replace(who);
  const parts = [];
  if (key("api")) parts.push(h("span", { class: "badge" }, `API key ${hint(key("api"))}`));
  if (key("admin")) parts.push(h("span", { class: "badge badge-admin" }, `Admin key ${hint(key("admin"))}`));
  const add = !key("api") || !key("admin")
    ? h("a", { href: "#signin", class: "link-button" }, "Add a key")
    : null;
  const out = h("button", { type: "button", class: "secondary", onclick: signOut }, "Sign out");
  return replace(who, ...parts, add, out);
}

function signOut() {
  forgetAll();
  location.hash = "#signin";
  show();
}

/** The route that only a key of `kind` opens: a wrong key is refused with a 401. */
const CHECKS = { api: "/v1/models", admin: "/admin/v1/status" };

function kindChoice(kind, label, checked) {
  const id = `signin-kind-${kind}`;
  return h("div", { class: "choice" },
    h("input", { type: "radio", name: "kind", id, value: kind, checked }), h("label", { for: id }, label));
}

function renderSignIn(container) {
  const input = h("input", {
    id: "signin-key", type: "password", autocomplete: "off", spellcheck: "false", required: true,
  });
  const message = h("div", { id: "signin-message" });
  const form = h("form", { class: "card narrow", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in"),
    h("p", {}, "Use an API key (playground, your usage) or an admin key (keys, all usage, "
      + "gateway status); add the other one afterwards to use both. Keys stay in this tab's "
      + "session storage and are sent only to this gateway."),
    h("fieldset", { class: "choices" }, h("legend", {}, "This key is"),
      kindChoice("api", "an API key", !key("api")), kindChoice("admin", "an admin key", Boolean(key("api")))),
    field("Key", input),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Sign in")),
    message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    replace(message, notice("info", "Checking the key…"));
    const kind = form.elements.kind.value;
    try {
      await send(CHECKS[kind], { token });
      remember(kind, token);
      location.hash = kind === "api" ? "#playground" : "#status";
      show();
    } catch (error) {
      const refused = error instanceof ApiError && error.status === 401;
      replace(message, notice("error", refused
        ? `This gateway refused the key as ${kind === "api" ? "an API key" : "an admin key"} (401).`
        : error.describe ? error.describe() : String(error)));
    }
  });
  container.append(form);
  input.focus();
  return null;
}

window.addEventListener("hashchange", show);
show();
