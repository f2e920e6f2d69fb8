"""The console's SSE reader (`console/js/sse.js`) in the browser, fed bodies cut at awkward
places: what the specification says an event is, whatever the network's reads look like."""

from __future__ import annotations

import pytest

from tests.console.conftest import ConsolePage

READ = """async (chunks) => {
  const { sseData } = await import("/ui/js/sse.js");
  const encoder = new TextEncoder();
  const body = new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
  const events = [];
  for await (const data of sseData(body)) events.push(data);
  return events;
}"""


@pytest.mark.parametrize(
    ("chunks", "events"),
    [
        (['data: {"a":1}\n\ndata: [DONE]\n\n'], ['{"a":1}', "[DONE]"]),
        (["data: one\r", "\n\r\n", "data: two\r\n\r\n"], ["one", "two"]),
        (["data: on", "e\n", "\n"], ["one"]),
        (["da", "ta:x\n\n"], ["x"]),
        ([": keep-alive\n\n", "data: a\ndata: b\n\n"], ["a\nb"]),
        (["event: ping\nid: 3\ndata: y\r\r"], ["y"]),
        (["data: caf\u00e9 \U0001f642\n\n"], ["caf\u00e9 \U0001f642"]),
        (["data: whole\n\n", "data: cut before its blank line\n"], ["whole"]),
    ],
)
def test_events_are_read_however_the_body_is_cut(
    console: ConsolePage, chunks: list[str], events: list[str]
) -> None:
    console.open("#signin")
    assert console.page.evaluate(READ, chunks) == events


def test_a_multibyte_character_cut_between_reads_is_kept_whole(console: ConsolePage) -> None:
    console.open("#signin")
    cut = """async () => {
      const { sseData } = await import("/ui/js/sse.js");
      const bytes = new TextEncoder().encode("data: \U0001f642\\n\\n");
      const body = new ReadableStream({
        start(controller) {
          controller.enqueue(bytes.slice(0, 8));
          controller.enqueue(bytes.slice(8));
          controller.close();
        },
      });
      const events = [];
      for await (const data of sseData(body)) events.push(data);
      return events;
    }"""
    assert console.page.evaluate(cut) == ["\U0001f642"]
