// Server-Sent Events read from a fetch body (a ReadableStream), as the SSE specification
// parses them: lines split on CRLF, LF or CR, `data:` lines joined, comments (keep-alives)
// skipped, an event dispatched at each blank line.

/** Yield each event's data (a string) as it arrives; stops at the body's end. */
export async function* sseData(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let data = [];
  try {
    while (true) {
      const { value, done } = await reader.read();
      let text = buffer + (done ? "" : value);
      // A CR at the very end may be the first half of a CRLF: kept for the next read, unless
      // there is none (then it ends its line).
      const held = !done && text.endsWith("\r") ? "\r" : "";
      if (held) text = text.slice(0, -1);
      const lines = text.split(/\r\n|\r|\n/);
      buffer = lines.pop() + held;
      for (const line of lines) {
        if (line === "") {
          if (data.length) yield data.join("\n");
          data = [];
        } else if (line.startsWith("data:")) {
          data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
        }
      }
      if (done) break;
    }
    // An event the body ended in the middle of is not dispatched (the specification's rule):
    // the caller sees the stream end without it, and without [DONE].
  } finally {
    // Reading stopped early (the consumer returned, or an abort): let go of the body.
    reader.cancel().catch(() => {});
  }
}
