"""The demo tenant's credentials, the admin password kept across runs, the web chat link and the banner."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from app.devrun.config import DEFAULT_PORTS, RunConfig, SimulatedEngines
from app.devrun.demo import (
    DemoCredentials,
    SeedingError,
    admin_password,
    banner,
    chat_url,
    parse_bootstrap_output,
    run_document,
    write_private,
)
from app.devrun.plan import EngineModels

BOOTSTRAP = {
    "tenant_id": "0190-t",
    "tenant": "demo",
    "admin_email": "admin@demo.example",
    "admin_password": None,
    "api_key": "hl_live_abc_secret",
    "api_key_tier": "enterprise",
}
CREDENTIALS = DemoCredentials(
    tenant="demo",
    tenant_id="0190-t",
    api_key="hl_live_abc_secret",
    api_key_tier="enterprise",
    admin_email="admin@demo.example",
    admin_password="kept",
)
MODELS = EngineModels(chat="helpline-chat", classifier="helpline-classifier", max_model_len=8192)


def test_credentials_come_from_the_json_line_among_logs() -> None:
    lines = ['{"event": "migrate_done", "level": "info"}', json.dumps(BOOTSTRAP), ""]
    assert parse_bootstrap_output(lines, "kept") == CREDENTIALS


def test_a_newly_created_admin_reports_its_own_password() -> None:
    lines = [json.dumps({**BOOTSTRAP, "admin_password": "fresh"})]
    assert parse_bootstrap_output(lines, "kept").admin_password == "fresh"


def test_no_credentials_is_an_error() -> None:
    with pytest.raises(SeedingError, match="no credentials"):
        parse_bootstrap_output(["Traceback ...", '{"event": "x"}'], "kept")


def test_the_admin_password_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    first = admin_password(tmp_path)
    assert len(first) >= 20
    assert admin_password(tmp_path) == first
    mode = (tmp_path / "demo-admin-password").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_private_files_are_owner_only_and_replaced_whole(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "run.json"
    write_private(target, "one")
    write_private(target, "two")
    assert target.read_text() == "two"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [path.name for path in target.parent.iterdir()] == ["run.json"]


def test_the_web_chat_link_carries_the_token_in_its_fragment() -> None:
    assert chat_url("http://127.0.0.1:8080", "a.b.c") == "http://127.0.0.1:8080/chat#token=a.b.c"


def test_banner_and_run_file_say_how_to_reach_everything(tmp_path: Path) -> None:
    config = RunConfig(state_dir=tmp_path, ports=DEFAULT_PORTS, engine=SimulatedEngines())
    text = banner(config, MODELS, CREDENTIALS, "a.b.c", tmp_path / "run.json")
    assert "http://127.0.0.1:8080/chat#token=a.b.c" in text
    assert "hl_live_abc_secret" in text
    assert "admin@demo.example / kept" in text
    assert "SQLite files in" in text
    assert "in-memory limiter" in text
    assert "curl -N -X POST http://127.0.0.1:8080/v1/conversations/$CONV/messages" in text
    document = run_document(
        config, MODELS, CREDENTIALS, "a.b.c", pids={"gateway": 42}, engine_api_key="k", sim_control_token="t"
    )
    assert document["gateway_url"] == "http://127.0.0.1:8080"
    assert document["api_key"] == "hl_live_abc_secret"
    assert document["urls"]["chat-engine-1"] == "http://127.0.0.1:8100"
    assert document["pids"] == {"gateway": 42}
    assert document["sim_control_token"] == "t"
