"""How a plain Kubernetes object becomes a Pulumi resource: which class, which name, which arguments."""

from __future__ import annotations

import pulumi_kubernetes as k8s
import pytest

from infra.k8s.objects import config_map, secret, service_account
from infra.k8s.resources import KINDS, argument_name, declaration, logical_name


def test_logical_names_are_stable_and_namespaced() -> None:
    assert logical_name({"kind": "NetworkPolicy", "metadata": {"name": "allow-dns", "namespace": "x"}}) == (
        "x-networkpolicy-allow-dns"
    )
    assert logical_name({"kind": "ClusterIssuer", "metadata": {"name": "le"}}) == "cluster-clusterissuer-le"


def test_api_fields_become_python_arguments() -> None:
    assert argument_name("spec") == "spec"
    assert argument_name("stringData") == "string_data"
    assert argument_name("roleRef") == "role_ref"
    assert argument_name("automountServiceAccountToken") == "automount_service_account_token"


def test_every_typed_class_is_the_kind_and_version_it_is_listed_under() -> None:
    for (api_version, kind), resource_class in KINDS.items():
        assert isinstance(resource_class, type)
        assert resource_class.__name__ == kind
        assert resource_class.__module__.split(".")[-2] == api_version.rpartition("/")[2], resource_class


def test_config_maps_and_secrets_keep_their_payload() -> None:
    """The old platform helper passed only metadata and spec: a ConfigMap lost its ``data``."""
    planned = declaration(config_map("dash", "mon", {}, {"a.json": "{}"}, immutable=True))
    assert planned.resource_class is k8s.core.v1.ConfigMap
    assert planned.name == "mon-configmap-dash"
    assert planned.arguments["data"] == {"a.json": "{}"}
    assert planned.arguments["immutable"] is True
    planned = declaration(secret("key", "app", {}, {"k": "v"}))
    assert planned.resource_class is k8s.core.v1.Secret
    assert planned.arguments["string_data"] == {"k": "v"}
    assert planned.arguments["type"] == "Opaque"
    assert "api_version" not in planned.arguments
    assert "kind" not in planned.arguments


def test_every_top_level_field_reaches_the_typed_class() -> None:
    planned = declaration(service_account("router", "serving", {}, automount=True))
    assert planned.arguments["automount_service_account_token"] is True
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "router", "namespace": "serving"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "router"},
        "subjects": [{"kind": "ServiceAccount", "name": "router", "namespace": "serving"}],
    }
    planned = declaration(binding)
    assert planned.resource_class is k8s.rbac.v1.RoleBinding
    assert set(planned.arguments) == {"metadata", "role_ref", "subjects"}


def test_custom_resources_carry_their_kind_metadata_and_spec() -> None:
    monitor = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "services", "namespace": "mon"},
        "spec": {"endpoints": [{"port": "http"}]},
    }
    planned = declaration(monitor)
    assert planned.resource_class is k8s.apiextensions.CustomResource
    assert planned.name == "mon-servicemonitor-services"
    assert planned.arguments == {
        "api_version": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": monitor["metadata"],
        "spec": monitor["spec"],
    }
    class_only = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": "x"}}
    assert declaration(class_only).arguments["spec"] is None


def test_a_given_name_replaces_the_logical_one() -> None:
    obj = secret("vllm-api-key", "serving", {}, {})
    assert declaration(obj, name="vllm-api-key").name == "vllm-api-key"


def test_what_would_be_lost_or_mistyped_is_refused() -> None:
    extra = {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "x"}, "data": {"a": "b"}}
    with pytest.raises(ValueError, match="only metadata and spec"):
        declaration(extra)
    replica_set = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "x", "namespace": "y"}}
    with pytest.raises(ValueError, match="add its typed class to KINDS"):
        declaration(replica_set)
    core = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "x", "namespace": "y"}}
    with pytest.raises(ValueError, match="built-in kind"):
        declaration(core)
