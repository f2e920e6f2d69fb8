"""The benchmark's parsers, options and report, without running any load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import bodies
from bench.h2load import parse_h2load_output
from bench.nginx import OLLAMA_CHAT_PATH, OLLAMA_STREAM_PREFIX, render_config
from bench.options import SCENARIOS, SMOKE, Options, parse_options
from bench.paced import parse_result
from bench.report import Row, render_table
from bench.tools import BenchError
from bench.wrk import LoadRequest, parse_wrk_output, write_script

WRK_OUTPUT = """Running 1s test @ http://127.0.0.1:1
  1 threads and 1 connections
BENCH_JSON {"requests":500,"duration_us":1000000,"bytes":1,"connect":0,"read":0,"write":0,\
"status":3,"timeout":0,"p50_us":1500,"p90_us":1800,"p99_us":2500,"max_us":9000,"mean_us":1600.0}
"""

H2LOAD_OUTPUT = """
finished in 123.45ms, 810.04 req/s, 1.23MB/s
requests: 100 total, 100 started, 100 done, 99 succeeded, 1 failed, 0 errored, 0 timeout
status codes: 99 2xx, 0 3xx, 0 4xx, 1 5xx
Application protocol: h2c
"""


def test_wrk_result_is_parsed_from_the_done_hook() -> None:
    result = parse_wrk_output(WRK_OUTPUT)
    assert result.rps == 500
    assert (result.p50_ms, result.p99_ms) == (1.5, 2.5)
    assert result.error_count == 3
    assert result.describe_errors() == "3 status"


def test_wrk_without_a_result_is_an_error() -> None:
    with pytest.raises(BenchError, match="no result"):
        parse_wrk_output("Running 1s test\n", "unable to connect", 1)


def test_wrk_script_quotes_bodies_and_headers(tmp_path: Path) -> None:
    one = LoadRequest("/v1/x", b'{"a": "b\\"c"}', {"Authorization": "Bearer k"})
    text = write_script(tmp_path / "one.lua", [one]).read_text()
    assert 'wrk.body = "{\\"a\\": \\"b\\\\\\"c\\"}"' in text
    assert 'wrk.headers["Authorization"] = "Bearer k"' in text
    assert "request = function" not in text
    text = write_script(tmp_path / "two.lua", [one, one], delay_ms=20).read_text()
    assert "request = function" in text
    assert "return 20" in text


def test_h2load_counts_are_parsed() -> None:
    result = parse_h2load_output(H2LOAD_OUTPUT)
    assert (result.total, result.succeeded, result.failed, result.status_2xx) == (100, 99, 1, 99)
    assert result.seconds == pytest.approx(0.12345)
    assert result.protocol == "h2c"
    assert not result.all_ok


def test_paced_result_derives_the_added_gap() -> None:
    line = json.dumps(
        {
            "streams_planned": 10,
            "streams_ok": 10,
            "streams_failed": 0,
            "max_open": 10,
            "deltas": 640,
            "wall_ms": 1300,
            "last_status": 0,
            "errors": {"connect": 0, "status": 0},
            "lag_p50_us": 800,
            "lag_p99_us": 4000,
            "lag_max_us": 9000,
            "gap_p50_us": 20000,
            "gap_p99_us": 31000,
            "gap_max_us": 45000,
        }
    )
    result = parse_result(line, 20)
    assert result.added_gap_p99_ms == pytest.approx(11.0)
    assert result.stall_free(20, 20)
    assert not result.stall_free(10, 20)


def test_fixed_stream_has_seventeen_events_and_done() -> None:
    body = bodies.stream_body().encode()
    assert bodies.count_data_events(body) == 18
    assert body.endswith(b"data: [DONE]\n\n")


def test_nginx_config_embeds_the_answers(tmp_path: Path) -> None:
    config = render_config(tmp_path, 12345)
    assert "listen 127.0.0.1:12345" in config
    assert "worker_processes 1;" in config
    assert "return 200 'data: {" in config and "\\n" in config
    assert f"location = {OLLAMA_STREAM_PREFIX}{OLLAMA_CHAT_PATH}" in config
    assert "default_type application/x-ndjson;" in config
    assert "return 200 'Ollama is running';" in config


def test_ollama_answers_are_the_native_wire_format() -> None:
    """15 content lines then the `done` line with Ollama's counts; the whole answer is that
    final line with all the content (PROTOCOLS.md 1.3 to 1.5)."""
    lines = [json.loads(line) for line in bodies.ollama_stream_body().splitlines()]
    assert bodies.count_ndjson_lines(bodies.ollama_stream_body().encode()) == len(lines) == 16
    assert [line["done"] for line in lines] == [False] * 15 + [True]
    assert "".join(line["message"]["content"] for line in lines) == " ".join(bodies.WORDS)
    final = lines[-1]
    assert (final["done_reason"], final["prompt_eval_count"], final["eval_count"]) == (
        "stop",
        12,
        15,
    )
    whole = json.loads(bodies.ollama_chat_json())
    assert whole["message"]["content"] == " ".join(bodies.WORDS) and whole["done"] is True


def test_smoke_preset_and_overrides() -> None:
    options = parse_options(["--smoke", "--only", "latency", "--duration", "2"])
    assert options.smoke and options.only == ("latency",) and options.duration == 2
    assert options.paced_ladder == SMOKE.paced_ladder
    full = parse_options(["--paced-ladder", "500,100"])
    assert full.paced_ladder == (100, 500) and full.only == SCENARIOS
    assert full.soak_seconds == Options().soak_seconds


def test_unknown_scenario_is_refused() -> None:
    with pytest.raises(SystemExit):
        parse_options(["--only", "nope"])


def test_table_has_one_line_per_row_and_escapes_pipes() -> None:
    table = render_table([Row("1 x", "a|b", "1 ms")])
    lines = table.splitlines()
    assert len(lines) == 3
    assert "a\\|b" in lines[2]
