"""The shared Kubernetes fragments are valid objects and say exactly what they promise."""

from __future__ import annotations

import kubernetes_validate
import pytest

from infra.k8s.labels import selector_labels, standard_labels
from infra.k8s.network_policies import allow_from, allow_to, default_deny, network_policy, peer
from infra.k8s.objects import BASIC_AUTH, config_map, secret, service_account
from infra.k8s.security import restricted_container_security_context, restricted_pod_security_context


def test_default_deny_selects_every_pod_and_both_directions() -> None:
    policy = default_deny("helpline-dev-app")
    kubernetes_validate.validate(policy, "1.34", strict=True)
    assert policy["spec"] == {"podSelector": {}, "ingress": [], "egress": [], "policyTypes": ["Ingress", "Egress"]}


def test_allow_rules_name_namespace_and_pods() -> None:
    policy = network_policy(
        "chat-to-engine",
        "helpline-dev-serving",
        pod_labels={"app.kubernetes.io/name": "vllm-chat"},
        ingress=[allow_from([peer("helpline-dev-app", {"app.kubernetes.io/name": "chat"})], [8000])],
    )
    kubernetes_validate.validate(policy, "1.34", strict=True)
    rule = policy["spec"]["ingress"][0]
    assert rule["from"][0]["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "helpline-dev-app"}}
    assert rule["ports"] == [{"protocol": "TCP", "port": 8000}]
    assert policy["spec"]["policyTypes"] == ["Ingress"]


def test_egress_rule_and_validation_errors() -> None:
    rule = allow_to([peer(pod_labels={"a": "b"})], [5432])
    assert rule == {"to": [{"podSelector": {"matchLabels": {"a": "b"}}}], "ports": [{"protocol": "TCP", "port": 5432}]}
    with pytest.raises(ValueError, match="needs a namespace"):
        peer()
    with pytest.raises(ValueError, match="neither ingress nor egress"):
        network_policy("x", "y", pod_labels=None)


def test_labels_and_restricted_security_contexts() -> None:
    labels = standard_labels("gateway", "api", "dev")
    assert selector_labels("gateway").items() <= labels.items()
    pod = restricted_pod_security_context()
    container = restricted_container_security_context()
    assert pod["runAsNonRoot"] is True
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["capabilities"] == {"drop": ["ALL"]}
    assert container["allowPrivilegeEscalation"] is False
    assert container["readOnlyRootFilesystem"] is True


def test_core_object_builders_are_valid_and_labelled() -> None:
    labels = standard_labels("redis", "cache", "dev")
    built = [
        secret("redis-auth", "data", labels, {"password": "x"}),
        secret("admin", "data", labels, {"username": "a", "password": "b"}, secret_type=BASIC_AUTH),
        config_map("script-0a1b", "data", labels, {"run.py": "print()"}, immutable=True, annotations={"a": "b"}),
        service_account("router", "serving", labels, automount=True, annotations={"role": "arn"}),
    ]
    for obj in built:
        kubernetes_validate.validate(obj, "1.34", strict=True)
        assert obj["metadata"]["labels"] == labels
    opaque, basic, script, account = built
    assert opaque["type"] == "Opaque"
    assert basic["type"] == "kubernetes.io/basic-auth"
    assert script["immutable"] is True
    assert script["metadata"]["annotations"] == {"a": "b"}
    assert "immutable" not in config_map("c", "n", labels, {})
    assert "annotations" not in service_account("s", "n", labels, automount=False)["metadata"]
    assert account["automountServiceAccountToken"] is True
