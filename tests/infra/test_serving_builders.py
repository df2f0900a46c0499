"""The serving component's pure builders: engine flags, startup budget, autoscaling queries, routing, loader."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from app.contracts.metrics import VLLM_LABELS
from infra.serving import autoscaling, model_loader
from infra.serving.engine_args import engine_args
from infra.serving.model_cache import ready_marker
from infra.serving.router import router_backends
from infra.serving.spec import AutoscalingSpec, ModelSpec
from infra.serving.startup import download_deadline_seconds, simulator_startup_budget, startup_budget
from tests.infra.promql import MetricCatalog, expression_problems

CHAT = ModelSpec(
    role="chat",
    model_id="Qwen/Qwen2.5-7B-Instruct-AWQ",
    revision="b25037543e9394b818fdfca67ab2a00ecc7dd641",
    served_model_name="qwen2.5-7b-instruct",
    quantization="awq_marlin",
    dtype="auto",
    max_model_len=8192,
    max_num_seqs=64,
    max_num_batched_tokens=8192,
    gpu_memory_utilization=0.9,
    tensor_parallel_size=1,
    gpus_per_replica=1,
    min_replicas=0,
    max_replicas=2,
    weights_gb=5.6,
    cpu="3",
    memory="12Gi",
    pattern="serverless",
)
AUTOSCALING = AutoscalingSpec(
    queue_depth_target=4,
    kv_cache_target=0.8,
    polling_seconds=15,
    scale_down_stabilization_seconds=300,
    idle_seconds_before_zero=900,
)


def flag_value(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


# --- engine flags ---------------------------------------------------------------------------------------------
def test_engine_args_carry_every_configured_limit() -> None:
    args = engine_args(CHAT)
    assert args[0] == "Qwen/Qwen2.5-7B-Instruct-AWQ"
    assert flag_value(args, "--revision") == CHAT.revision
    assert flag_value(args, "--served-model-name") == "qwen2.5-7b-instruct"
    assert flag_value(args, "--max-model-len") == "8192"
    assert flag_value(args, "--max-num-seqs") == "64"
    assert flag_value(args, "--max-num-batched-tokens") == "8192"
    assert flag_value(args, "--gpu-memory-utilization") == "0.9"
    assert flag_value(args, "--tensor-parallel-size") == "1"
    assert flag_value(args, "--quantization") == "awq_marlin"
    assert flag_value(args, "--port") == "8000"
    assert {"--enable-prefix-caching", "--enable-chunked-prefill"} <= set(args)
    assert "--pipeline-parallel-size" not in args
    assert not any("api-key" in arg for arg in args), "the key travels only through VLLM_API_KEY"


def test_pipeline_stages_and_auto_quantization() -> None:
    args = engine_args(replace(CHAT, tensor_parallel_size=2, gpus_per_replica=4, quantization=None))
    assert flag_value(args, "--pipeline-parallel-size") == "2"
    assert "--quantization" not in args


@pytest.mark.parametrize("flag", ["--trust-remote-code", "--trust-remote-code=True"])
def test_trust_remote_code_never_reaches_the_engine(flag: str) -> None:
    with pytest.raises(ValueError, match="never allowed"):
        engine_args(replace(CHAT, extra_args=(flag,)))


# --- startup budget -------------------------------------------------------------------------------------------
def test_startup_budget_is_init_plus_weights_over_read_throughput_with_headroom() -> None:
    budget = startup_budget(5.6)
    assert budget.seconds == 264  # (120 s + 5.6 GB / 0.1 GB/s) x 1.5
    assert budget.period_seconds == 10
    assert budget.failure_threshold == 27


def test_startup_budget_grows_with_the_weights() -> None:
    sizes = [1.0, 5.6, 16.0, 40.0, 140.0]
    budgets = [startup_budget(size).seconds for size in sizes]
    assert budgets == sorted(budgets)
    assert startup_budget(140.0).seconds > 2000  # a 70B fp16 model needs over half an hour from shared storage
    assert simulator_startup_budget().seconds == 60


def test_download_deadline_allows_twenty_megabytes_a_second() -> None:
    assert download_deadline_seconds(5.6) == 880
    with pytest.raises(ValueError, match="positive"):
        download_deadline_seconds(0)


# --- autoscaling queries --------------------------------------------------------------------------------------
METRIC = re.compile(r"(vllm:[a-zA-Z0-9_:]*)\{([^}]*)\}")


def check_query_against_catalog(query: str) -> None:
    """The monitoring area's PromQL checker (parses, catalogued names and labels, no removed metric), plus
    the autoscaler's stricter rule: vLLM series are selected by ``model_name`` only (not even target labels,
    so a query cannot silently depend on how Prometheus scrapes)."""
    problems = expression_problems(query, MetricCatalog.deployed())
    assert not problems, "; ".join(problems)
    for name, labels in METRIC.findall(query):
        names = {pair.split("=", 1)[0].strip() for pair in labels.split(",") if pair.strip()}
        assert names == {"model_name"}, f"{name}: vLLM series are selected by model_name only, not {names}"
        assert set(VLLM_LABELS) >= names


def test_scale_to_zero_models_also_wake_on_the_routers_no_backend_count() -> None:
    names = [trigger.name for trigger in autoscaling.triggers(CHAT, AUTOSCALING)]
    assert names == ["queue-depth", "kv-cache", "wake-from-zero"]
    always_up = autoscaling.triggers(replace(CHAT, min_replicas=2, pattern="horizontal"), AUTOSCALING)
    assert [trigger.name for trigger in always_up] == ["queue-depth", "kv-cache"]


def test_every_autoscaling_query_names_only_catalogued_metrics_and_labels() -> None:
    for trigger in autoscaling.triggers(CHAT, AUTOSCALING):
        check_query_against_catalog(trigger.query)
        assert 'model_name="qwen2.5-7b-instruct"' in trigger.query or 'model="qwen2.5-7b-instruct"' in trigger.query


def test_the_catalog_check_catches_the_classic_mistakes() -> None:
    with pytest.raises(AssertionError, match="removed from vLLM"):
        check_query_against_catalog('sum(vllm:gpu_cache_usage_perc{model_name="x"})')
    with pytest.raises(AssertionError, match="no label 'model'"):
        check_query_against_catalog('sum(vllm:num_requests_waiting{model="x"})')
    with pytest.raises(AssertionError, match="model_name only"):
        check_query_against_catalog('sum(vllm:num_requests_waiting{namespace="serving"})')
    with pytest.raises(AssertionError, match="exported by nothing"):
        check_query_against_catalog('sum(vllm:queue_size{model_name="x"})')
    with pytest.raises(AssertionError, match="does not parse"):
        check_query_against_catalog('sum(vllm:num_requests_waiting{model_name="x"}')


def test_thresholds_come_from_config() -> None:
    thresholds = {t.name: t.threshold for t in autoscaling.triggers(CHAT, replace(AUTOSCALING, queue_depth_target=9))}
    assert thresholds == {"queue-depth": "9", "kv-cache": "0.8", "wake-from-zero": "1"}


# --- routing --------------------------------------------------------------------------------------------------
def test_router_backends_point_each_served_name_at_its_headless_service() -> None:
    backends = json.loads(router_backends("vllm", [CHAT], "helpline-dev-serving"))
    assert backends == {
        "qwen2.5-7b-instruct": {
            "kubernetes": {"namespace": "helpline-dev-serving", "service": "vllm-qwen2-5-7b-instruct", "port": 8000}
        }
    }
    simulated = json.loads(router_backends("simulator", [CHAT], "ns"))
    assert simulated["qwen2.5-7b-instruct"]["kubernetes"]["service"] == "enginesim-qwen2-5-7b-instruct"


# --- model loader ---------------------------------------------------------------------------------------------
class DirectorySource:
    """A stand-in for a bucket or the Hub: copies files from a local folder."""

    name = "fake"

    def __init__(self, files: dict[str, bytes] | None) -> None:
        self.files = files
        self.calls = 0

    def fetch(self, destination: Path) -> bool:
        self.calls += 1
        if self.files is None:
            return False
        for relative, content in self.files.items():
            (destination / relative).parent.mkdir(parents=True, exist_ok=True)
            (destination / relative).write_bytes(content)
        return True


MODEL_FILES = {"config.json": b"{}", "model.safetensors": b"w" * 100, "tokenizer.json": b"{}"}


def test_loader_fills_the_hub_cache_layout_and_writes_the_marker_last(tmp_path: Path) -> None:
    marker = model_loader.load(tmp_path, CHAT.model_id, CHAT.revision, [DirectorySource(MODEL_FILES)])
    snapshot = tmp_path / "hub" / "models--Qwen--Qwen2.5-7B-Instruct-AWQ" / "snapshots" / CHAT.revision
    assert (snapshot / "model.safetensors").read_bytes() == b"w" * 100
    record = json.loads(marker.read_text())
    assert record == {
        "model_id": CHAT.model_id,
        "revision": CHAT.revision,
        "source": "fake",
        "seconds": record["seconds"],
        "files": 3,
        "bytes": 104,
    }
    assert not list(marker.parent.glob("*.tmp"))


def test_loader_uses_the_first_source_holding_the_revision_and_is_idempotent(tmp_path: Path) -> None:
    empty_mirror, hub = DirectorySource(None), DirectorySource(MODEL_FILES)
    model_loader.load(tmp_path, CHAT.model_id, CHAT.revision, [empty_mirror, hub])
    assert (empty_mirror.calls, hub.calls) == (1, 1)
    model_loader.load(tmp_path, CHAT.model_id, CHAT.revision, [empty_mirror, hub])
    assert (empty_mirror.calls, hub.calls) == (1, 1), "a complete revision is not fetched again"


def test_loader_refuses_an_incomplete_snapshot_and_writes_no_marker(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="no weights"):
        model_loader.load(tmp_path, CHAT.model_id, CHAT.revision, [DirectorySource({"config.json": b"{}"})])
    assert not model_loader.marker_path(tmp_path, CHAT.model_id, CHAT.revision).exists()
    with pytest.raises(RuntimeError, match="no source holds"):
        model_loader.load(tmp_path, "a/b", CHAT.revision, [DirectorySource(None)])


def test_bucket_mirror_keys_map_to_snapshot_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = f"hf/{CHAT.model_id}/{CHAT.revision}/"
    objects = {prefix + "config.json": b"{}", prefix + "model.safetensors": b"w", prefix + "sub/merges.txt": b"m"}
    seen: list[str] = []

    def download(key: str, target: Path) -> None:
        target.write_bytes(objects[key])

    def client(scheme: str, bucket: str) -> tuple[model_loader.Listing, model_loader.Download]:
        seen.append(f"{scheme}://{bucket}")
        return (lambda p: [key for key in objects if key.startswith(p)]), download

    monkeypatch.setattr(model_loader, "_bucket_client", client)
    sources = model_loader.sources_for(CHAT.model_id, CHAT.revision, "s3://helpline-dev-models", "hf")
    assert [source.name for source in sources] == ["bucket", "hub"]
    model_loader.load(tmp_path, CHAT.model_id, CHAT.revision, sources)
    snapshot = model_loader.snapshot_dir(tmp_path, CHAT.model_id, CHAT.revision)
    assert (snapshot / "sub" / "merges.txt").read_bytes() == b"m"
    assert seen == ["s3://helpline-dev-models"]


def test_without_a_bucket_the_loader_goes_to_the_hub() -> None:
    assert [s.name for s in model_loader.sources_for("a/b", "c" * 40, "", "hf")] == ["hub"]


def test_main_reports_failure_with_a_non_zero_exit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_loader, "sources_for", lambda *_: [DirectorySource(None)])
    assert model_loader.main(["--model-id", "a/b", "--revision", "c" * 40, "--hf-home", str(tmp_path)]) == 1
    monkeypatch.setattr(model_loader, "sources_for", lambda *_: [DirectorySource(MODEL_FILES)])
    assert model_loader.main(["--model-id", "a/b", "--revision", "c" * 40, "--hf-home", str(tmp_path)]) == 0


def test_the_engine_waits_for_the_marker_the_loader_writes() -> None:
    """The loader runs with HF_HOME=/models, so its marker is exactly the path the engine's init container polls."""
    assert (
        ready_marker(CHAT).as_posix()
        == model_loader.marker_path(Path("/models"), CHAT.model_id, CHAT.revision).as_posix()
    )
    assert ready_marker(CHAT).as_posix() == (
        "/models/.ready/models--Qwen--Qwen2.5-7B-Instruct-AWQ@b25037543e9394b818fdfca67ab2a00ecc7dd641.json"
    )
