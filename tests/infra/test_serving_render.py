"""The serving stage as rendered on every stack and cloud, and on the variants: valid, secure, wired.

Read from the session's renders of the whole program (``any_render``): the committed stacks, prod on GCP with every
secret set (the Hugging Face token reaches the model loader) and dev on AWS on the engine simulator. Strict schema
validation, the leak scan and checkov run on every render in test_render_integrity.py and test_checkov.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.cluster import GPU_TAINT_KEY, POOL_LABEL
from infra.serving.engine import engine_url
from infra.serving.router import router_url
from tests.infra.rendering import Render
from tests.infra.test_serving_builders import check_query_against_catalog, flag_value

CHAT_MODEL = "qwen2.5-7b-instruct"
GPU_RESOURCE = "nvidia.com/gpu"


@pytest.fixture
def rendered(any_render: Render) -> Render:
    return any_render


def namespace(render: Render) -> str:
    return f"helpline-{render.stack}-serving"


def simulator(render: Render) -> bool:
    return render.setting("engine") == "simulator"


def serving(render: Render, kind: str) -> list[dict[str, Any]]:
    """The serving namespace's objects of one kind."""
    return render.objects(kind, namespace(render))


def engines(render: Render) -> list[dict[str, Any]]:
    return [
        d for d in serving(render, "Deployment") if d["metadata"]["labels"]["app.kubernetes.io/component"] == "engine"
    ]


def containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    spec = deployment["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def assert_masked_secret(secret: dict[str, Any], key: str) -> None:
    """Masked whole, or key by key: either way no value, and (when visible) exactly the expected key."""
    payload = secret["stringData"]
    assert payload in ("[secret]", {key: "[secret]"}), payload


def test_the_variants_exercise_the_simulator_and_the_hugging_face_token(all_renders: dict[str, Render]) -> None:
    """What the render-dependent branches below need: a simulator render, and a vLLM render with the token."""
    assert any(simulator(render) for render in all_renders.values())
    assert any(render.sets_secret("hfToken") and not simulator(render) for render in all_renders.values())


def test_engine_flags_match_the_config(rendered: Render) -> None:
    expected = {"vllm-qwen2-5-7b-instruct", "vllm-qwen2-5-1-5b-instruct"}
    if simulator(rendered):
        expected = {name.replace("vllm-", "enginesim-") for name in expected}
    assert {d["metadata"]["name"] for d in engines(rendered)} == expected
    chat = next(d for d in engines(rendered) if "7b" in d["metadata"]["name"])
    (engine,) = chat["spec"]["template"]["spec"]["containers"]
    args = engine["args"]
    assert flag_value(args, "--served-model-name") == CHAT_MODEL
    assert flag_value(args, "--max-model-len") == "8192"
    assert flag_value(args, "--max-num-seqs") == "64"
    assert flag_value(args, "--max-num-batched-tokens") == "8192"
    assert flag_value(args, "--gpu-memory-utilization") == "0.9"
    assert flag_value(args, "--tensor-parallel-size") == "1"
    assert flag_value(args, "--revision") == "b25037543e9394b818fdfca67ab2a00ecc7dd641"
    assert {"--enable-prefix-caching", "--enable-chunked-prefill"} <= set(args)
    expected_command = ["python", "-m", "app.enginesim"] if simulator(rendered) else ["vllm", "serve"]
    assert engine["command"] == expected_command


def test_trust_remote_code_appears_nowhere(rendered: Render) -> None:
    assert not any("trust-remote-code" in p.read_text() for p in rendered.path.rglob("*") if p.is_file())


def test_probes_use_health_with_a_startup_budget_from_the_model_size(rendered: Render) -> None:
    budgets = {}
    for deployment in engines(rendered):
        engine = deployment["spec"]["template"]["spec"]["containers"][0]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert engine[probe]["httpGet"] == {"path": "/health", "port": "http"}
        startup = engine["startupProbe"]
        budgets[deployment["metadata"]["name"]] = startup["periodSeconds"] * startup["failureThreshold"]
    if simulator(rendered):
        assert set(budgets.values()) == {60}
    else:  # (120 s init + weights / 0.1 GB/s) x 1.5, in 10 s periods
        assert budgets == {"vllm-qwen2-5-7b-instruct": 270, "vllm-qwen2-5-1-5b-instruct": 230}


def test_lifecycle_lets_streams_finish(rendered: Render) -> None:
    for deployment in [*engines(rendered), rendered.object("Deployment", "router", namespace(rendered))]:
        pod = deployment["spec"]["template"]["spec"]
        assert pod["containers"][0]["lifecycle"] == {"preStop": {"sleep": {"seconds": 10}}}
        assert pod["terminationGracePeriodSeconds"] >= 60
    for deployment in engines(rendered):
        assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 130


def test_gpu_scheduling_or_system_nodes_for_the_simulator(rendered: Render) -> None:
    for deployment in engines(rendered):
        pod = deployment["spec"]["template"]["spec"]
        limits = pod["containers"][0]["resources"]["limits"]
        assert pod["containers"][0]["resources"]["requests"] == limits, "Guaranteed QoS"
        if simulator(rendered):
            assert "nvidia.com/gpu" not in limits
            assert pod["nodeSelector"] == {POOL_LABEL: "system"}
            assert "tolerations" not in pod
            assert not any(v.get("persistentVolumeClaim") for v in pod["volumes"])
        else:
            assert limits["nvidia.com/gpu"] == "1"
            assert pod["nodeSelector"] == {POOL_LABEL: "gpu"}
            assert [t["key"] for t in pod["tolerations"]] == [GPU_TAINT_KEY]
            shm = next(v for v in pod["volumes"] if v["name"] == "dshm")
            assert shm["emptyDir"] == {"medium": "Memory", "sizeLimit": "2Gi"}


def test_prod_spreads_replicas_across_zones(rendered: Render) -> None:
    for deployment in [*engines(rendered), rendered.object("Deployment", "router", namespace(rendered))]:
        keys = {
            c["topologyKey"]: c["whenUnsatisfiable"]
            for c in deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
        }
        if rendered.stack == "prod":
            assert keys["topology.kubernetes.io/zone"] == "DoNotSchedule"
        else:
            assert "topology.kubernetes.io/zone" not in keys


def test_every_pod_runs_restricted(rendered: Render) -> None:
    workloads = [*serving(rendered, "Deployment"), *serving(rendered, "Job")]
    assert workloads
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert not any(pod.get(host) for host in ("hostNetwork", "hostPID", "hostIPC"))
        assert not any("hostPath" in volume for volume in pod.get("volumes", []))
        expected_token = workload["metadata"]["name"] == "router"  # it watches EndpointSlices
        assert pod["automountServiceAccountToken"] is expected_token
        for container in containers(workload):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert context["readOnlyRootFilesystem"] is True
            assert "@sha256:" in container["image"], f"{container['name']} image is not pinned by digest"


def test_api_key_reaches_the_engine_only_through_a_secret_key_ref(rendered: Render) -> None:
    assert_masked_secret(rendered.object("Secret", "vllm-api-key", namespace(rendered)), "api-key")
    for deployment in engines(rendered):
        env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["VLLM_API_KEY"] == {
            "name": "VLLM_API_KEY",
            "valueFrom": {"secretKeyRef": {"name": "vllm-api-key", "key": "api-key"}},
        }
    router = rendered.object("Deployment", "router", namespace(rendered))["spec"]["template"]["spec"]["containers"][0]
    assert "VLLM_API_KEY" not in {e["name"] for e in router["env"]}, "the router forwards the caller's key"
    # The key the stage hands on stays a Pulumi secret: the copy in the app namespace is recorded as one, masked.
    app = f"helpline-{rendered.stack}-app"
    assert_masked_secret(rendered.object("Secret", "engine-api-key", app), "api-key")
    (recorded,) = [
        r
        for r in rendered.of_type("kubernetes:core/v1:Secret")
        if r["inputs"]["metadata"].get("name") == "engine-api-key" and r["inputs"]["metadata"].get("namespace") == app
    ]
    assert "stringData" in recorded["secretInputs"]


def test_engine_network_policy_admits_exactly_the_router_and_prometheus(rendered: Render) -> None:
    """Chat reaches models only through the router, so it is not admitted to the engines."""
    policy = rendered.object("NetworkPolicy", "engine-callers", namespace(rendered))
    assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "engine"
    (rule,) = policy["spec"]["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8000}]
    peers = {
        (
            p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
            p["podSelector"]["matchLabels"]["app.kubernetes.io/name"],
        )
        for p in rule["from"]
    }
    stack = rendered.stack
    assert peers == {
        (f"helpline-{stack}-serving", "router"),
        (f"helpline-{stack}-monitoring", "prometheus"),
    }


def test_model_cache_and_loader_only_for_vllm(rendered: Render) -> None:
    jobs = serving(rendered, "Job")
    if simulator(rendered):
        assert not jobs
        assert not serving(rendered, "PersistentVolumeClaim")
        return
    claim = rendered.object("PersistentVolumeClaim", "model-cache", namespace(rendered))
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    assert claim["spec"]["storageClassName"] == "model-cache"
    assert {j["metadata"]["name"] for j in jobs} == {
        "model-loader-qwen2-5-7b-instruct-b25037543e",
        "model-loader-qwen2-5-1-5b-instruct-989aa7980e",
    }
    loader_account = rendered.object("ServiceAccount", "model-loader", namespace(rendered))
    annotation = "eks.amazonaws.com/role-arn" if rendered.cloud == "aws" else "iam.gke.io/gcp-service-account"
    assert annotation in loader_account["metadata"]["annotations"]
    for job in jobs:
        pod = job["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == "model-loader"
        assert job["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == "model-loader"
        env = {e["name"]: e for e in pod["containers"][0]["env"]}
        assert env["MODEL_BUCKET_URI"]["value"].startswith("s3://" if rendered.cloud == "aws" else "gs://")
        volumes = {v["name"]: v for v in pod["volumes"]}
        if rendered.sets_secret("hfToken"):
            assert env["HF_TOKEN_PATH"]["value"] == "/var/run/secrets/huggingface/token"
            assert volumes["hf-token"]["secret"]["secretName"] == "hf-token"
            assert_masked_secret(rendered.object("Secret", "hf-token", namespace(rendered)), "token")
        else:
            assert "HF_TOKEN_PATH" not in env
            assert "hf-token" not in volumes
            assert not [s for s in rendered.objects("Secret") if s["metadata"]["name"] == "hf-token"]
    for deployment in engines(rendered):
        pod = deployment["spec"]["template"]["spec"]
        env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
        assert env["HF_HUB_OFFLINE"] == "1"
        mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "model-cache")
        assert mount["readOnly"] is True
        assert pod["initContainers"][0]["name"] == "wait-for-model"


def pattern(render: Render, deployment: dict[str, Any]) -> str | None:
    """The deployment pattern the render's config gives the engine's model."""
    role = deployment["metadata"]["labels"]["helpline.io/model-role"]
    return render.setting(f"{role}DeploymentPattern")


def test_each_pattern_renders_its_replica_owner(rendered: Render) -> None:
    """single: replicas 1 and no ScaledObject; horizontal and serverless: no replicas field (KEDA owns the count)."""
    scaled = {s["metadata"]["name"] for s in serving(rendered, "ScaledObject")}
    for deployment in engines(rendered):
        name = deployment["metadata"]["name"]
        if pattern(rendered, deployment) == "single":
            assert deployment["spec"]["replicas"] == 1
            assert name not in scaled
        else:
            assert "replicas" not in deployment["spec"]
            assert name in scaled


def test_the_variants_render_every_pattern(all_renders: dict[str, Render]) -> None:
    seen = {pattern(render, d) for render in all_renders.values() for d in engines(render)}
    assert seen == {"single", "horizontal", "serverless"}


def test_serverless_vllm_models_get_their_image_pre_pulled_on_gpu_nodes(rendered: Render) -> None:
    daemon_sets = {d["metadata"]["name"]: d for d in serving(rendered, "DaemonSet")}
    serverless = any(pattern(rendered, d) == "serverless" for d in engines(rendered))
    if simulator(rendered) or not serverless:
        assert "vllm-image-prepull" not in daemon_sets
        return
    pod = daemon_sets["vllm-image-prepull"]["spec"]["template"]["spec"]
    engine = next(d for d in engines(rendered) if pattern(rendered, d) == "serverless")
    engine_pod = engine["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == engine_pod["containers"][0]["image"]
    assert pod["nodeSelector"] == engine_pod["nodeSelector"]
    assert pod["tolerations"] == engine_pod["tolerations"]
    resources = pod["containers"][0]["resources"]
    assert not any(GPU_RESOURCE in part for part in resources.values())  # it never takes a GPU from an engine
    assert pod["automountServiceAccountToken"] is False


def test_scaled_objects_scale_on_vllm_queue_and_kv_cache(rendered: Render) -> None:
    scaled = {s["metadata"]["name"]: s["spec"] for s in serving(rendered, "ScaledObject")}
    assert set(scaled) == {d["metadata"]["name"] for d in engines(rendered) if pattern(rendered, d) != "single"}
    for name, spec in scaled.items():
        assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        triggers = {t["name"]: t for t in spec["triggers"]}
        for trigger in triggers.values():
            assert trigger["type"] == "prometheus"
            assert trigger["metadata"]["serverAddress"].endswith(".svc:9090")
            check_query_against_catalog(trigger["metadata"]["query"])
        assert triggers["queue-depth"]["metadata"]["threshold"] == "4"
        assert triggers["kv-cache"]["metadata"]["threshold"] == "0.8"
        if rendered.stack == "dev":
            assert spec["minReplicaCount"] == 0
            assert "wake-from-zero" in triggers
        else:
            assert spec["minReplicaCount"] == 2
            assert "wake-from-zero" not in triggers


def test_keda_is_a_pinned_helm_release_watching_the_serving_namespace(rendered: Render) -> None:
    release = rendered.helm_releases["keda"]
    assert release["chart"] == "keda"
    assert release["version"] == "2.20.2"
    assert release["repositoryOpts"]["repo"] == "https://kedacore.github.io/charts"
    assert release["values"]["watchNamespace"] == namespace(rendered)
    assert release["values"]["operator"]["replicaCount"] == (2 if rendered.stack == "prod" else 1)


def test_router_watches_endpointslices_with_least_privilege(rendered: Render) -> None:
    role = rendered.object("Role", "router-endpointslices", namespace(rendered))
    assert role["metadata"]["namespace"] == namespace(rendered)
    assert role["rules"] == [
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]}
    ]
    router = rendered.object("Deployment", "router", namespace(rendered))
    container = router["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "-m", "app.router"]
    backends = json.loads(next(e["value"] for e in container["env"] if e["name"] == "ROUTER_BACKENDS"))
    services = {s["metadata"]["name"]: s for s in serving(rendered, "Service")}
    for served, source in backends.items():
        service = services[source["kubernetes"]["service"]]
        assert service["spec"]["clusterIP"] == "None", "headless: EndpointSlices list pod IPs"
        assert source["kubernetes"]["port"] == 8000
        assert served in {CHAT_MODEL, "qwen2.5-1.5b-instruct"}
    hpa = rendered.object("HorizontalPodAutoscaler", "router", namespace(rendered))
    assert hpa["spec"]["minReplicas"] == (2 if rendered.stack == "prod" else 1)
    assert {p["metadata"]["name"] for p in serving(rendered, "PodDisruptionBudget")} == {
        "router",
        *(d["metadata"]["name"] for d in engines(rendered)),
    }


def test_chat_reaches_the_model_through_the_router_and_each_engine_has_a_direct_url(rendered: Render) -> None:
    """The stage's endpoints: the router URL chat is given, and each model's direct URL naming its own Service."""
    expected_router = f"http://router.{namespace(rendered)}.svc.cluster.local:8080/v1"
    assert router_url(namespace(rendered)) == expected_router
    chat = rendered.object("Deployment", "chat", f"helpline-{rendered.stack}-app")
    env = {e["name"]: e.get("value") for e in chat["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["HELPLINE_ENGINE_URL"] == expected_router
    assert env["HELPLINE_CHAT_MODEL"] == CHAT_MODEL
    spec = rendered.stack_config.serving.spec(rendered.stack_config.cluster, rendered.stack_config.services.app_image)
    (chat_model,) = [model for model in spec.models if model.served_model_name == CHAT_MODEL]
    prefix = "enginesim" if simulator(rendered) else "vllm"
    direct = engine_url(spec.engine, chat_model, namespace(rendered))
    assert direct == f"http://{prefix}-qwen2-5-7b-instruct.{namespace(rendered)}.svc.cluster.local:8000/v1"
    service = rendered.object("Service", f"{prefix}-qwen2-5-7b-instruct", namespace(rendered))
    assert 8000 in [port["port"] for port in service["spec"]["ports"]]


#: Where the engine (vLLM, PyTorch, Triton) writes: each must be a writable volume, the root filesystem is read-only.
ENGINE_WRITABLE_ENV = ("HOME", "XDG_CACHE_HOME", "VLLM_CACHE_ROOT", "TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR")


def test_the_engine_runs_as_uid_10001_without_a_passwd_entry(rendered: Render) -> None:
    """USER/LOGNAME name the user (getpass.getuser() finds no passwd entry), caches lie on writable emptyDirs."""
    for deployment in engines(rendered):
        if simulator(rendered):
            continue
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert pod["securityContext"]["runAsUser"] == 10001
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        env = {item["name"]: item.get("value") for item in container["env"]}
        assert env["USER"] == env["LOGNAME"] == "engine"
        scratch = {volume["name"] for volume in pod["volumes"] if "emptyDir" in volume}
        writable = [m["mountPath"] for m in container["volumeMounts"] if m["name"] in scratch]
        for name in ENGINE_WRITABLE_ENV:
            path = env[name]
            assert any(path == root or path.startswith(f"{root}/") for root in writable), (name, path, writable)
        assert "/tmp" in writable  # Python's tempfile, vLLM's IPC sockets


def test_a_rollout_never_waits_for_a_gpu_the_pool_cannot_add(rendered: Render) -> None:
    """Engines roll new-before-old only where the GPU pool holds every model at its maximum plus one surge replica
    each; otherwise (dev: pool 2 = chat 1 + classifier 1) old-before-new, so the surge pod never waits for a GPU until
    the deadline and fails `pulumi up`."""
    config = rendered.stack_config
    capacity = config.cluster.gpu_pool_max_nodes * config.cluster.gpus_per_node
    with_surge = sum((m.max_replicas + 1) * m.gpus_per_replica for m in config.serving.models)
    for deployment in engines(rendered):
        update = deployment["spec"]["strategy"]["rollingUpdate"]
        if simulator(rendered) or with_surge <= capacity:
            assert update == {"maxSurge": 1, "maxUnavailable": 0}, rendered.id
        else:
            assert update == {"maxSurge": 0, "maxUnavailable": 1}, rendered.id
    if rendered.stack == "prod":
        assert with_surge <= capacity, "prod promises upgrades that never drop capacity"
