// The official openai Node client, unmodified, against a quart_llm gateway.
//
//   npm ci                      (once, in this folder)
//   node check_openai.mjs <base_url> <key> [scenario ...]
//
// <base_url> is the gateway (http://127.0.0.1:8000) or its API root (.../v1). Prints one JSON
// object: scenario name -> what the client saw. Errors are results here (their class, status,
// code and headers), so a caller can assert on them; the exit code is 0 unless the arguments
// are wrong. Scenarios: chat stream models auth_error not_found rate_limit server_error
// midstream_error (all but rate_limit by default: it needs a gateway with a tight token budget).
import OpenAI from "openai";

const ERROR_CLASSES = [
  "APIError",
  "APIConnectionError",
  "APIConnectionTimeoutError",
  "AuthenticationError",
  "BadRequestError",
  "InternalServerError",
  "NotFoundError",
  "PermissionDeniedError",
  "RateLimitError",
  "UnprocessableEntityError",
];
const HELLO = [{ role: "user", content: "Hello there" }];

function apiRoot(baseURL) {
  const trimmed = baseURL.replace(/\/+$/, "");
  return trimmed.endsWith("/v1") ? trimmed : `${trimmed}/v1`;
}

function describeError(error) {
  return {
    name: error.constructor.name,
    classes: ERROR_CLASSES.filter((name) => error instanceof OpenAI[name]),
    status: error.status ?? null,
    code: error.code ?? null,
    type: error.type ?? null,
    param: error.param ?? null,
    message: error.message,
    request_id: error.requestID ?? null,
    retry_after: error.headers?.get?.("retry-after") ?? null,
  };
}

function makeClient(options, overrides = {}) {
  return new OpenAI({
    baseURL: options.baseURL,
    apiKey: options.key,
    maxRetries: 0,
    timeout: 20_000,
    ...overrides,
  });
}

async function consumeStream(stream) {
  let text = "";
  const finishReasons = [];
  let usage = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks += 1;
    for (const choice of chunk.choices) {
      text += choice.delta?.content ?? "";
      if (choice.finish_reason) finishReasons.push(choice.finish_reason);
    }
    if (chunk.usage) usage = chunk.usage;
  }
  return { text, finish_reasons: finishReasons, usage, chunks };
}

const SCENARIOS = {
  async chat(options) {
    const completion = await makeClient(options).chat.completions.create({
      model: "mock/mock-1",
      messages: HELLO,
    });
    return {
      content: completion.choices[0].message.content,
      finish_reason: completion.choices[0].finish_reason,
      model: completion.model,
      usage: completion.usage,
      request_id: completion._request_id ?? null,
    };
  },

  async stream(options) {
    const stream = await makeClient(options).chat.completions.create({
      model: "mock/mock-1",
      messages: HELLO,
      stream: true,
      stream_options: { include_usage: true },
    });
    return consumeStream(stream);
  },

  async models(options) {
    const ids = [];
    for await (const model of makeClient(options).models.list()) ids.push(model.id);
    return { ids };
  },

  async auth_error(options) {
    await makeClient({ ...options, key: "not-a-valid-key" }).chat.completions.create({
      model: "mock/mock-1",
      messages: HELLO,
    });
  },

  async not_found(options) {
    await makeClient(options).chat.completions.create({ model: "mock/nope", messages: HELLO });
  },

  async rate_limit(options) {
    let attempts = 0;
    const client = makeClient(options, {
      maxRetries: 2,
      fetch: (url, init) => {
        attempts += 1;
        return fetch(url, init);
      },
    });
    const started = performance.now();
    try {
      await client.chat.completions.create({
        model: "mock/mock-1",
        messages: HELLO,
        max_tokens: 1000,
      });
    } catch (error) {
      error.attempts = attempts;
      error.elapsedMs = performance.now() - started;
      throw error;
    }
    return { attempts };
  },

  async server_error(options) {
    await makeClient(options).chat.completions.create({
      model: "mock/mock-fail-early",
      messages: HELLO,
      stream: true,
    });
  },

  async midstream_error(options) {
    const stream = await makeClient(options).chat.completions.create({
      model: "mock/mock-fail-midway",
      messages: HELLO,
      stream: true,
    });
    let received = "";
    try {
      for await (const chunk of stream) {
        for (const choice of chunk.choices) received += choice.delta?.content ?? "";
      }
    } catch (error) {
      error.received = received;
      throw error;
    }
    return { received };
  },
};

const DEFAULT_SCENARIOS = Object.keys(SCENARIOS).filter((name) => name !== "rate_limit");

async function run(name, options) {
  try {
    return { ok: true, result: await SCENARIOS[name](options) };
  } catch (error) {
    const described = describeError(error);
    for (const extra of ["attempts", "elapsedMs", "received"]) {
      if (error[extra] !== undefined) described[extra] = error[extra];
    }
    return { ok: false, error: described };
  }
}

async function main(argv) {
  const [baseURL, key, ...requested] = argv;
  const names = requested.length ? requested : DEFAULT_SCENARIOS;
  const unknown = names.filter((name) => !(name in SCENARIOS));
  if (!baseURL || !key || unknown.length) {
    console.error("usage: node check_openai.mjs <base_url> <key> [scenario ...]");
    if (unknown.length) console.error(`unknown scenarios: ${unknown.join(", ")}`);
    return 2;
  }
  const options = { baseURL: apiRoot(baseURL), key };
  const results = {};
  for (const name of names) results[name] = await run(name, options);
  console.log(JSON.stringify(results));
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
