// The gateway's public HTTP API, as every client sees it: Bearer keys, JSON, errors in the
// OpenAI envelope {"error": {"message", "type", "param", "code"}}.
import { key } from "./session.js";

/** An answer that is not a success, with what the gateway said about it. */
export class ApiError extends Error {
  constructor(status, body, requestId) {
    const error = body && typeof body === "object" && body.error ? body.error : {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.type = error.type || null;
    this.code = error.code || null;
    this.param = error.param || null;
    this.requestId = requestId || error.request_id || null;
  }

  /** A route this gateway does not have (yet): a 404 for the path itself. */
  get missingEndpoint() {
    return this.status === 404 && this.code === "not_found";
  }

  /** What the error is, in words a person reads: the kind first, then the gateway's message. */
  describe() {
    return `${errorKind(this)}: ${this.message}`;
  }
}

/** A transport failure (the gateway did not answer at all). */
export class NetworkError extends Error {
  describe() {
    return `Network error: ${this.message}`;
  }
}

export function errorKind(error) {
  if (error.status === 0) return "Network error";
  if (error.status === 401) return "Not signed in with a valid key (401)";
  if (error.status === 403) return `Not allowed (403${error.code ? ` ${error.code}` : ""})`;
  if (error.status === 429) return `Quota or rate limit reached (429${error.code ? ` ${error.code}` : ""})`;
  if (error.status === 502 || error.status === 504) return `Upstream failed (${error.status}${error.code ? ` ${error.code}` : ""})`;
  if (error.status === 503) return `Unavailable (503${error.code ? ` ${error.code}` : ""})`;
  if (error.status === 404) return `Not found (404${error.code ? ` ${error.code}` : ""})`;
  if (error.status >= 500) return `Gateway error (${error.status})`;
  return `Request refused (${error.status}${error.code ? ` ${error.code}` : ""})`;
}

/**
 * Send a request with the signed-in key of `auth` ("api", "admin" or null for none), or with
 * `token` when given (signing in tries a key before keeping it).
 * Resolves to the Response when it is a success, rejects with ApiError otherwise.
 */
export async function send(path, { method = "GET", body, auth = "api", token, signal, accept } = {}) {
  const headers = {};
  const secret = token ?? (auth ? key(auth) : null);
  if (secret) headers.Authorization = `Bearer ${secret}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (accept) headers.Accept = accept;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: "no-store",
      credentials: "omit",
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new NetworkError(error.message);
  }
  if (!response.ok) {
    let parsed = null;
    try {
      parsed = await response.json();
    } catch {
      parsed = null;
    }
    throw new ApiError(response.status, parsed, response.headers.get("X-Request-ID"));
  }
  return response;
}

/** GET (or another method) and parse the JSON answer. */
export async function getJson(path, options = {}) {
  const response = await send(path, options);
  return response.json();
}

/** A query string from the defined, non-empty values of `params`. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** Download an answer's body as a file (CSV export), without leaving the page. */
export async function download(path, filename, options = {}) {
  const response = await send(path, options);
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
