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
  return name in PAGES ? name : key("api") ? "playground" : "keys";
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

/** What kind of key `token` is: an API key opens /v1/models, an admin key /admin/v1/status. */
async function kindOf(token) {
  try {
    await send("/v1/models", { token });
    return "api";
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
  }
  try {
    await send("/admin/v1/status", { token });
    return "admin";
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
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
    field("Key", input),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Sign in")),
    message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    replace(message, notice("info", "Checking the key…"));
    try {
      const kind = await kindOf(token);
      if (kind === null) {
        replace(message, notice("error", "This gateway knows no API key or admin key like this one."));
        return;
      }
      remember(kind, token);
      location.hash = kind === "api" ? "#playground" : "#keys";
      show();
    } catch (error) {
      replace(message, notice("error", error.describe ? error.describe() : String(error)));
    }
  });
  container.append(form);
  input.focus();
  return null;
}

window.addEventListener("hashchange", show);
show();
