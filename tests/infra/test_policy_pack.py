"""The CrossGuard adapter (infra/policy/pack.py) and the pack as the Pulumi CLI runs it.

The last test starts ``infra/policy/__main__.py`` exactly as the CLI would (a process that prints its gRPC port) and
talks to it over Pulumi's analyzer protocol: the policies it announces, the config file that makes them mandatory,
and a violation reported for a planted resource. No Pulumi CLI is needed for that.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import (
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import PolicyCustomTimeouts
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from infra.policy.catalog import rule_names
from infra.policy.pack import plain, policies
from tests.infra.rendering import ROOT

PACK = ROOT / "infra" / "policy"
TAGGED_IMAGE = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "gateway", "namespace": "helpline-prod-app"},
    "spec": {
        "template": {
            "spec": {
                "containers": [
                    {
                        "name": "gateway",
                        "image": "ghcr.io/helpline-dev/helpline:latest",
                        "resources": {"limits": {"cpu": "1", "memory": UNKNOWN_STRING_VALUE}},
                        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
                        "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8080}},
                    }
                ]
            }
        }
    },
}


def options() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def collect(policy: Any, args: Any) -> list[tuple[str, str | None]]:
    reported: list[tuple[str, str | None]] = []
    policy.validate(args, lambda message, urn=None: reported.append((message, urn)))
    return reported


def test_one_policy_per_rule() -> None:
    built = policies()
    assert [p.name for p in built] == rule_names()
    assert all(p.remediation_steps for p in built)


def test_plain_unwraps_crossguard_proxies_and_keeps_unknowns() -> None:
    proxied = unknown_checking_proxy({"a": [1, {"b": UNKNOWN_STRING_VALUE}], "c": "d"})
    assert plain(proxied) == {"a": [1, {"b": UNKNOWN_STRING_VALUE}], "c": "d"}


def test_resource_policy_reports_through_crossguard_with_the_resource_named() -> None:
    (policy,) = [p for p in policies() if p.name == "images-pinned-by-digest"]
    assert isinstance(policy, ResourceValidationPolicy)
    args = ResourceValidationArgs(
        "kubernetes:apps/v1:Deployment", unknown_checking_proxy(TAGGED_IMAGE), "urn:x", "gateway", options(), None, {}
    )
    ((message, _),) = collect(policy, args)
    assert message.startswith("Deployment helpline-prod-app/gateway: container 'gateway' image")
    (limits,) = [p for p in policies() if p.name == "probes-and-limits"]
    assert collect(limits, args) == [], "an unknown memory limit is not a missing one"


def test_stack_policy_points_at_the_offending_urn() -> None:
    (policy,) = [p for p in policies() if p.name == "claims-use-declared-storage-classes"]
    assert isinstance(policy, StackValidationPolicy)
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": "helpline-dev-data"},
        "spec": {"storageClassName": "gp2", "accessModes": ["ReadWriteOnce"]},
    }
    resource = PolicyResource(
        "kubernetes:core/v1:PersistentVolumeClaim",
        unknown_checking_proxy(claim),
        "urn:pulumi:dev::helpline::kubernetes:core/v1:PersistentVolumeClaim::data",
        "data",
        options(),
        None,
        None,
        [],
        {},
    )
    reported = collect(policy, StackValidationArgs([resource], {}))
    assert reported == [
        (
            "PersistentVolumeClaim helpline-dev-data/data: the claim uses StorageClass 'gp2', which this stack does not "
            "declare",
            resource.urn,
        )
    ]


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """The pack process the CLI would start; it prints its port, then serves until stopped."""
    process = subprocess.Popen(
        [sys.executable, str(PACK / "__main__.py")],
        cwd=PACK,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": ""},
    )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        assert port.isdigit(), process.stderr.read() if process.stderr else port
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=30)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_pack_announces_every_rule_advisory_by_default(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "helpline"
    assert [p.name for p in info.policies] == rule_names()
    assert {p.enforcementLevel for p in info.policies} == {analyzer_pb2.ADVISORY}
    (gpu,) = [p for p in info.policies if p.name == "gpu-memory-utilization"]
    assert "minimum" in gpu.configSchema.properties


def configure(analyzer: analyzer_pb2_grpc.AnalyzerStub, config_file: str) -> None:
    """What ``--policy-pack-config`` does: each policy's level and properties, ``all`` applied to those without."""
    config = json.loads((PACK / "config" / config_file).read_text())
    levels = {"advisory": analyzer_pb2.ADVISORY, "mandatory": analyzer_pb2.MANDATORY}
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for name in rule_names():
        entry = dict(config.get(name, {}))
        level = levels[entry.pop("enforcementLevel", config["all"])]
        properties = struct_pb2.Struct()
        properties.update(entry)
        request.policyConfig[name].CopyFrom(analyzer_pb2.PolicyConfig(enforcementLevel=level, properties=properties))
    analyzer.Configure(request)


def analyze(analyzer: analyzer_pb2_grpc.AnalyzerStub, props: dict[str, Any]) -> list[Any]:
    properties = struct_pb2.Struct()
    properties.update(props)
    request = analyzer_pb2.AnalyzeRequest(
        type="kubernetes:apps/v1:Deployment",
        properties=properties,
        urn="urn:pulumi:prod::helpline::kubernetes:apps/v1:Deployment::gateway",
        name="gateway",
    )
    return list(analyzer.Analyze(request).diagnostics)


@pytest.mark.parametrize(("config_file", "level"), [("prod.json", "MANDATORY"), ("dev.json", "ADVISORY")])
def test_the_config_file_sets_the_enforcement(
    analyzer: analyzer_pb2_grpc.AnalyzerStub, config_file: str, level: str
) -> None:
    configure(analyzer, config_file)
    diagnostics = analyze(analyzer, TAGGED_IMAGE)
    assert [d.policyName for d in diagnostics] == ["images-pinned-by-digest"]
    assert diagnostics[0].enforcementLevel == getattr(analyzer_pb2, level)
    assert "Deployment helpline-prod-app/gateway" in diagnostics[0].message
