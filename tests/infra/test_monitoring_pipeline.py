"""Pure helpers of the monitoring stage: Alertmanager config, the log agent against a real log line, OTLP endpoint."""

from __future__ import annotations

import json
import re
from datetime import datetime

import jsonschema
import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider

from app.core.logging import configure_logging
from infra.platform.logging_pipeline import JSON_FIELDS, alloy_config
from infra.platform.monitoring_alertmanager import ReceiverUrls, alertmanager_config, url_file
from infra.platform.monitoring_values import grafana_datasources
from infra.platform.tracing import otlp_endpoint
from tests.support.shared_data import shared_file


@pytest.mark.parametrize(("pager", "chat"), [(False, False), (True, False), (True, True)])
def test_alertmanager_config_is_valid_and_only_configured_receivers_notify(pager: bool, chat: bool) -> None:
    config = alertmanager_config(ReceiverUrls(pager=pager, chat=chat))
    jsonschema.validate(config, json.loads(shared_file("json-schemas", "prometheus-alertmanager.json").read_text()))
    receivers = {r["name"]: r for r in config["receivers"]}
    assert set(receivers) == {"null", "pager", "chat"}
    assert ("webhook_configs" in receivers["pager"]) is pager
    assert ("webhook_configs" in receivers["chat"]) is chat
    if pager:
        assert receivers["pager"]["webhook_configs"][0]["url_file"] == url_file("pager")
    hooks = [hook for r in config["receivers"] for hook in r.get("webhook_configs", [])]
    assert all("url" not in hook for hook in hooks), "URLs only through url_file"


def test_a_real_log_line_has_every_field_the_agent_extracts(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("chat")
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("answer"):
        structlog.get_logger().info("answered", request_id="req-1", tenant_id="t-1", conversation_id="c-1")
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(JSON_FIELDS) <= set(line), set(JSON_FIELDS) - set(line)
    assert datetime.fromisoformat(line["timestamp"]).tzinfo is not None  # RFC 3339, as the agent parses it
    (loki, _tempo) = grafana_datasources("http://loki", "http://tempo")
    regex = loki["jsonData"]["derivedFields"][0]["matcherRegex"]
    assert re.search(regex, json.dumps(line)).group(1) == line["trace_id"]  # type: ignore[union-attr]


def test_alloy_config_keeps_only_the_given_namespaces() -> None:
    config = alloy_config(["helpline-dev-app", "helpline-dev-serving"], "http://loki:3100/loki/api/v1/push")
    assert 'regex         = "helpline-dev-app|helpline-dev-serving"' in config
    assert config.count("{") == config.count("}")


def test_otlp_endpoint_is_the_collector_http_port() -> None:
    assert otlp_endpoint("helpline-dev-monitoring") == "http://otel-collector.helpline-dev-monitoring:4318"
