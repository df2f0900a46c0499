"""The supervisor's terminal output: prefixes, readable JSON log lines, colour only where it belongs."""

from __future__ import annotations

import io

from app.devrun.output import Output, colour_enabled, render_log_line


def test_a_json_log_line_reads_as_time_level_event_and_fields() -> None:
    line = (
        '{"event": "request", "level": "info", "timestamp": "2026-01-02T10:11:12.345678Z", "service": "gateway",'
        ' "logger": "helpline.access", "method": "POST", "path": "/v1/conversations", "status": 201,'
        ' "duration_ms": 3.2, "request_id": "abc", "note": "two words"}'
    )
    assert render_log_line(line) == (
        "10:11:12.345 info    request method=POST path=/v1/conversations status=201 duration_ms=3.2 "
        'request_id=abc note="two words"'
    )


def test_other_lines_pass_through_unchanged() -> None:
    assert render_log_line("INFO 2026-01-02 [app.enginesim] serving\n") == "INFO 2026-01-02 [app.enginesim] serving"
    assert render_log_line('{"not": "a log"}') == '{"not": "a log"}'
    assert render_log_line("{broken json") == "{broken json"
    assert render_log_line("Traceback (most recent call last):") == "Traceback (most recent call last):"


def test_warnings_and_errors_are_coloured_when_colour_is_on() -> None:
    line = '{"event": "boom", "level": "error", "timestamp": "2026-01-02T10:11:12.345678Z"}'
    assert "\x1b[31merror" in render_log_line(line, colour=True)
    assert "\x1b[" not in render_log_line(line, colour=False)


def test_prefixes_are_aligned_and_notices_come_from_devrun() -> None:
    stream = io.StringIO()
    output = Output(["gateway", "chat-engine-1"], stream=stream, colour=False)
    output.line("gateway", "hello")
    output.notice("ready: gateway\nsecond line")
    output.block("BANNER")
    assert stream.getvalue().splitlines() == [
        "gateway       | hello",
        "devrun        | ready: gateway",
        "devrun        | second line",
        "BANNER",
    ]


def test_raw_logs_leave_json_alone() -> None:
    stream = io.StringIO()
    Output(["auth"], stream=stream, colour=False, raw_logs=True).line("auth", '{"event": "x", "level": "info"}')
    assert stream.getvalue() == 'auth   | {"event": "x", "level": "info"}\n'


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_without_no_color() -> None:
    assert colour_enabled(_Tty(), {})
    assert not colour_enabled(_Tty(), {"NO_COLOR": "1"})
    assert not colour_enabled(_Tty(), {"TERM": "dumb"})
    assert not colour_enabled(io.StringIO(), {})
