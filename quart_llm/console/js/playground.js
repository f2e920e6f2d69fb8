// The playground: a conversation with any model the key may use, streamed token by token
// (fetch + the SSE reader), with what the answer cost in time, tokens and money.
import { getJson, query, send } from "./api.js";
import { field, formatCount, formatMs, formatUsd, h, notice, replace } from "./dom.js";
import { key } from "./session.js";
import { sseData } from "./sse.js";

export const title = "Playground";

/** Waits before each look for an answer's usage record (its cost). */
const RECORD_WAITS_MS = [250, 500, 1000, 2000];

/** The conversation so far, kept while the tab lives (the page may be left and come back). */
const conversation = [];

export function render(container) {
  container.append(h("h1", {}, "Playground"));
  if (!key("api")) {
    container.append(notice("info", "The playground calls the chat API, which needs an API key "
      + "(an admin key opens only the admin API). ", h("a", { href: "#signin" }, "Add an API key"), "."));
    return null;
  }
  const view = new Playground(container);
  view.loadModels();
  return () => view.stop();
}

class Playground {
  constructor(container) {
    this.controller = null;
    this.model = h("select", { id: "pg-model", required: true });
    this.system = h("textarea", { id: "pg-system", rows: 2, placeholder: "You are a helpful assistant." });
    this.temperature = h("input", { id: "pg-temperature", type: "number", min: 0, max: 2, step: 0.1, value: 0.7 });
    this.maxTokens = h("input", { id: "pg-max-tokens", type: "number", min: 1, step: 1, value: 256 });
    this.prompt = h("textarea", { id: "pg-prompt", rows: 3, required: true });
    this.send = h("button", { type: "submit", id: "pg-send" }, "Send");
    this.stopButton = h("button", { type: "button", id: "pg-stop", class: "danger", disabled: true,
      onclick: () => this.stop() }, "Stop");
    this.clear = h("button", { type: "button", class: "secondary", onclick: () => this.clearAll() },
      "Clear conversation");
    this.messages = h("ol", { id: "pg-messages", class: "messages", "aria-label": "Conversation" });
    this.status = h("div", { id: "pg-status" });
    this.stats = h("dl", { id: "pg-stats", class: "stats" });
    const form = h("form", { class: "card playground", "aria-label": "Chat request" },
      h("div", { class: "grid-settings" },
        field("Model", this.model),
        field("Temperature", this.temperature),
        field("Max tokens", this.maxTokens)),
      field("System prompt", this.system),
      this.messages,
      field("Message", this.prompt, "Ctrl+Enter sends."),
      h("div", { class: "actions" }, this.send, this.stopButton, this.clear),
      this.status);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.run();
    });
    this.prompt.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
    });
    container.append(form, h("section", { class: "card", "aria-labelledby": "pg-stats-title" },
      h("h2", { id: "pg-stats-title" }, "Last answer"), this.stats));
    this.drawMessages();
    this.showStats({});
  }

  async loadModels() {
    try {
      const models = await getJson("/v1/models");
      replace(this.model, ...models.data.map((m) => h("option", { value: m.id }, m.id)));
    } catch (error) {
      replace(this.status, notice("error", `Could not list the models. ${error.describe ? error.describe() : error}`));
    }
  }

  drawMessages() {
    replace(this.messages, ...conversation.map((message) => h("li", { class: `message message-${message.role}` },
      h("span", { class: "role" }, message.role), h("div", { class: "content" }, message.content))));
  }

  clearAll() {
    this.stop();
    conversation.length = 0;
    this.drawMessages();
    replace(this.status);
    this.showStats({});
  }

  stop() {
    if (this.controller) this.controller.abort();
  }

  busy(running) {
    this.send.disabled = running;
    this.stopButton.disabled = !running;
    this.messages.setAttribute("aria-busy", running ? "true" : "false");
  }

  request() {
    const messages = [];
    if (this.system.value.trim()) messages.push({ role: "system", content: this.system.value });
    messages.push(...conversation.filter((m) => m.role !== "error"));
    const body = { model: this.model.value, messages, stream: true, stream_options: { include_usage: true } };
    if (this.temperature.value !== "") body.temperature = Number(this.temperature.value);
    if (this.maxTokens.value !== "") body.max_tokens = Number(this.maxTokens.value);
    return body;
  }

  async run() {
    const text = this.prompt.value.trim();
    if (!text || this.controller) return;
    conversation.push({ role: "user", content: text });
    this.prompt.value = "";
    this.drawMessages();
    const answer = h("div", { class: "content", id: "pg-answer" });
    this.messages.append(h("li", { class: "message message-assistant" }, h("span", { class: "role" }, "assistant"), answer));
    const run = { started: performance.now(), first: null, ended: null, text: "", chunks: 0, usage: null,
      cost: undefined, provider: null, requestId: null, done: false };
    this.controller = new AbortController();
    this.busy(true);
    replace(this.status, notice("info", "Waiting for the first token…"));
    try {
      await this.stream(run, answer);
      replace(this.status, run.done ? notice("ok", "Answer complete.")
        : notice("error", "The stream ended before the answer was complete (no [DONE])."));
    } catch (error) {
      this.failed(error, run);
    } finally {
      run.ended = performance.now();
      this.controller = null;
      this.busy(false);
      if (run.text) conversation.push({ role: "assistant", content: run.text });
      run.costPending = Boolean(run.requestId && run.cost === undefined && key("admin"));
      this.showStats(run);
      if (run.costPending) this.costFromRecord(run);
    }
  }

  async stream(run, answer) {
    const response = await send("/v1/chat/completions", { method: "POST", body: this.request(),
      signal: this.controller.signal });
    run.requestId = response.headers.get("X-Request-ID");
    run.provider = response.headers.get("X-Quart-LLM-Provider");
    this.showStats(run);
    for await (const data of sseData(response.body)) {
      if (data === "[DONE]") {
        run.done = true;
        break;
      }
      const event = JSON.parse(data);
      if (event.error) throw new MidStreamError(event.error);
      const delta = event.choices?.[0]?.delta?.content;
      if (delta) {
        if (run.first === null) {
          run.first = performance.now();
          replace(this.status, notice("info", "Streaming…"));
        }
        run.text += delta;
        run.chunks += 1;
        answer.textContent = run.text;
      }
      if (event.usage) {
        run.usage = event.usage;
        const cost = event.usage.cost_usd ?? event.cost_usd;
        if (cost !== undefined) run.cost = cost;
      }
    }
  }

  failed(error, run) {
    if (error.name === "AbortError") {
      replace(this.status, notice("info", "Stopped: the request was aborted and the gateway closed the upstream."));
      return;
    }
    const described = error.describe ? error.describe() : `Error: ${error.message}`;
    replace(this.status, notice("error", described));
    run.error = described;
  }

  /**
   * The answer's cost from its usage record (GET /admin/v1/requests, so with an admin key
   * only), when the stream did not carry it. Records are written in batches, a moment after
   * the answer: looked for a few times.
   */
  async costFromRecord(run) {
    try {
      for (const delay of RECORD_WAITS_MS) {
        await new Promise((resolve) => setTimeout(resolve, delay));
        const records = await getJson(`/admin/v1/requests${query({ limit: 100 })}`, { auth: "admin" });
        const record = records.data.find((r) => r.request_id === run.requestId);
        if (record) {
          run.cost = record.cost_usd;
          break;
        }
      }
    } catch {
      // No usage records on this gateway (yet): the cost stays unknown.
    } finally {
      run.costPending = false;
      this.showStats(run);
    }
  }

  showStats(run) {
    const usage = run.usage || {};
    const seconds = run.first !== null && run.ended ? (run.ended - run.first) / 1000 : null;
    const tokens = usage.completion_tokens ?? run.chunks;
    const rate = seconds && tokens ? `${(tokens / seconds).toFixed(1)} tokens/s` : "–";
    const rows = [
      ["Time to first token", run.first ? formatMs(run.first - run.started) : "–"],
      ["Speed", rate],
      ["Prompt tokens", formatCount(usage.prompt_tokens)],
      ["Completion tokens", formatCount(usage.completion_tokens)],
      ["Cost", costText(run)],
      ["Provider", run.provider || "–"],
      ["Request id", run.requestId || "–"],
    ];
    replace(this.stats, ...rows.flatMap(([name, value]) => [h("dt", {}, name),
      h("dd", { dataset: { stat: name.toLowerCase().replaceAll(" ", "-") } }, value)]));
  }
}

/** The answer's cost: known once it has ended (from the stream or its record). */
function costText(run) {
  if (!run.requestId || !run.ended) return "–";
  return run.costPending ? "looking it up…" : formatUsd(run.cost ?? null);
}

/** A failure after the stream started: the gateway's in-band error event. */
class MidStreamError extends Error {
  constructor(error) {
    super(error.message || "The stream failed.");
    this.code = error.code || null;
    this.type = error.type || null;
  }

  describe() {
    return `The stream failed mid-answer (${this.code || this.type || "error"}): ${this.message}`;
  }
}
