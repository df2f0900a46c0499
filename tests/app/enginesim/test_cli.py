"""The `vllm serve` command line: honoured flags, ignored GPU flags, and the simulator's own."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from app.enginesim.cli import bind_socket, human_int, parse_config
from app.enginesim.faults import FaultSpec

SERVING_ARGS = [
    "Qwen/Qwen2.5-7B-Instruct-AWQ",
    "--served-model-name",
    "helpline-chat",
    "--max-model-len",
    "8192",
    "--max-num-seqs",
    "64",
    "--gpu-memory-utilization",
    "0.90",
    "--tensor-parallel-size",
    "1",
    "--quantization",
    "awq",
    "--dtype",
    "auto",
    "--enable-prefix-caching",
    "--enable-chunked-prefill",
    "--max-num-batched-tokens",
    "8192",
    "--revision",
    "0123456789abcdef0123456789abcdef01234567",
    "--download-dir",
    "/models",
    "--disable-log-requests",
    "--uvicorn-log-level",
    "warning",
    "--port",
    "8000",
]


def test_the_serving_components_argument_list() -> None:
    config, options = parse_config(SERVING_ARGS, environ={"VLLM_API_KEY": "from-env"})
    assert config.model == "Qwen/Qwen2.5-7B-Instruct-AWQ"
    assert config.served_model_names == ("helpline-chat",)
    assert config.max_model_len == 8192
    assert config.max_num_seqs == 64
    assert config.enable_prefix_caching
    assert config.api_keys == ("from-env",)
    assert config.control_token is None
    assert options.port == 8000
    assert options.host == "0.0.0.0"
    assert options.log_level == "warning"
    assert options.unknown_flags == ()
    ignored = " ".join(options.ignored_flags)
    for flag in ("gpu-memory-utilization=0.90", "tensor-parallel-size=1", "quantization=awq", "dtype=auto"):
        assert flag in ignored
    for flag in (
        "enable-chunked-prefill",
        "max-num-batched-tokens",
        "revision",
        "download-dir",
        "disable-log-requests",
    ):
        assert flag in ignored


def test_defaults_follow_vllm() -> None:
    config, options = parse_config(["some/model"], environ={})
    assert config.served_model_names == ("some/model",)
    assert config.max_num_seqs == 256
    assert config.block_size == 16
    assert config.api_keys == ()
    assert options.port == 8000


def test_model_flag_subcommand_and_api_key_flag() -> None:
    config, _ = parse_config(["serve", "--model", "m", "--api-key", "a", "b"], environ={"VLLM_API_KEY": "env"})
    assert config.model == "m"
    assert config.api_keys == ("a", "b"), "--api-key wins over the environment"


def test_prefix_caching_can_be_turned_off() -> None:
    config, _ = parse_config(["m", "--no-enable-prefix-caching"], environ={})
    assert not config.enable_prefix_caching


def test_simulator_flags() -> None:
    config, options = parse_config(
        [
            "m",
            "--seed",
            "5",
            "--sim-ttft-ms",
            "10",
            "--sim-prefill-ms-per-token",
            "0.5",
            "--sim-itl-ms",
            "2",
            "--sim-itl-ms-per-seq",
            "0",
            "--sim-jitter",
            "0",
            "--sim-output-tokens",
            "12",
            "--sim-kv-cache-blocks",
            "600",
            "--sim-fault",
            "crash:after_tokens=3",
            "--sim-fault",
            "dead",
            "--sim-port-file",
            "/tmp/port",
        ],
        environ={"ENGINESIM_CONTROL_TOKEN": "secret"},
    )
    assert config.seed == 5, "--seed is the fallback for --sim-seed"
    assert config.latency.ttft_base == pytest.approx(0.010)
    assert config.latency.prefill_per_token == pytest.approx(0.0005)
    assert config.latency.itl_base == pytest.approx(0.002)
    assert config.output_tokens == 12
    assert config.kv_cache_blocks == 600
    assert config.control_token == "secret"
    assert options.faults == (FaultSpec("crash", after_tokens=3), FaultSpec("dead"))
    assert options.port_file == Path("/tmp/port")


def test_unknown_vllm_flags_are_tolerated_but_sim_typos_are_not(capsys: pytest.CaptureFixture[str]) -> None:
    _, options = parse_config(["m", "--some-new-vllm-flag", "x"], environ={})
    assert options.unknown_flags == ("--some-new-vllm-flag", "x")
    with pytest.raises(SystemExit):
        parse_config(["m", "--sim-itl", "3"], environ={})
    assert "unrecognized simulator flag" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "a model is required"),
        (["m", "--sim-jitter", "1.5"], "jitter must be in"),
        (["m", "--max-model-len", "32768", "--sim-kv-cache-blocks", "10"], "cannot hold one sequence"),
        (["m", "--sim-fault", "explode"], "unknown fault kind"),
    ],
)
def test_invalid_command_lines_fail_with_a_reason(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parse_config(argv, environ={})
    assert message in capsys.readouterr().err


def test_human_readable_lengths() -> None:
    assert human_int("8192") == 8192
    assert human_int("8k") == 8000
    assert human_int("8K") == 8192
    assert human_int("1M") == 1024**2


def test_the_listening_socket_says_it_is_tcp_so_connections_get_nodelay() -> None:
    # asyncio sets TCP_NODELAY on accepted connections only for sockets created with IPPROTO_TCP; without it
    # Nagle's algorithm holds every token's write until the previous one is acknowledged (vLLM never does).
    sock = bind_socket("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()
