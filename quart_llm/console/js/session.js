// The keys the console signs in with, kept in this tab's sessionStorage only: closing the tab
// forgets them, and no other tab, cookie or server-side session ever sees them.

const NAMES = { api: "quart_llm.console.api_key", admin: "quart_llm.console.admin_key" };

/** The key of that kind ("api" or "admin"), or null. */
export function key(kind) {
  return sessionStorage.getItem(NAMES[kind]);
}

export function remember(kind, value) {
  sessionStorage.setItem(NAMES[kind], value);
}

export function forgetAll() {
  for (const name of Object.values(NAMES)) sessionStorage.removeItem(name);
}

export function signedIn() {
  return key("api") !== null || key("admin") !== null;
}

/** How a key is shown: its last four characters only. */
export function hint(value) {
  return value ? `…${value.slice(-4)}` : "";
}
