"""Serving config: typed per-model specs from flat keys; bad values fail naming the key and what is allowed."""

from __future__ import annotations

import pytest

from stacks.config import StackConfigError, parse_stack_config
from stacks.config.serving import DEFAULT_VLLM_IMAGE, UNRESOLVED_DIGEST
from tests.infra import stack_values
from tests.infra.stack_values import AWS_DEV, issues_of

#: Prod with room for eight GPU nodes.
AWS_PROD = {**stack_values.AWS_PROD, "gpuPoolMaxNodes": "8"}


def test_defaults_serve_the_chat_and_the_classifier_model_at_pinned_revisions() -> None:
    config = parse_stack_config("dev", AWS_DEV)
    chat, classifier = config.serving.models
    assert (chat.role, chat.model_id) == ("chat", "Qwen/Qwen2.5-7B-Instruct-AWQ")
    assert chat.revision == "b25037543e9394b818fdfca67ab2a00ecc7dd641"
    assert chat.quantization == "awq_marlin"
    assert chat.gpu_memory_utilization == 0.90
    assert (classifier.role, classifier.model_id) == ("classifier", "Qwen/Qwen2.5-1.5B-Instruct")
    assert classifier.quantization is None  # "none": vLLM reads the checkpoint's own config
    assert config.serving.engine == "vllm"
    assert "@sha256:" in config.serving.vllm_image


def test_flat_keys_become_one_typed_spec_per_model() -> None:
    config = parse_stack_config(
        "dev",
        {
            **AWS_DEV,
            "gpusPerNode": "4",
            "gpuPoolMaxNodes": "4",
            "chatTensorParallelSize": "2",
            "chatGpusPerReplica": "4",
            "chatMaxModelLen": "16384",
            "chatGpuMemoryUtilization": "0.93",
            "chatExtraEngineArgs": '["--enable-auto-tool-choice"]',
        },
    )
    chat = config.serving.model("chat")
    assert (chat.tensor_parallel_size, chat.gpus_per_replica, chat.pipeline_parallel_size) == (2, 4, 2)
    assert chat.max_model_len == 16384
    assert chat.gpu_memory_utilization == 0.93
    assert chat.extra_args == ("--enable-auto-tool-choice",)
    spec = config.serving.spec(config.cluster, config.services.app_image)
    assert spec.models[0] == chat
    assert spec.spread_across_zones is False


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {"chatModelRevision": "main"},
            "helpline:chatModelRevision = 'main': must be a full 40-hex commit sha (lower case), not a branch or tag",
        ),
        (
            {"classifierModelId": "not a repo"},
            "helpline:classifierModelId = 'not a repo': must be a Hugging Face repository id such as "
            "Qwen/Qwen2.5-7B-Instruct-AWQ",
        ),
        (
            {"chatQuantization": "int3"},
            "helpline:chatQuantization = 'int3': allowed: none, awq, awq_marlin, gptq, gptq_marlin, fp8, "
            "compressed-tensors",
        ),
        (
            {"chatTensorParallelSize": "3"},
            "helpline:chatTensorParallelSize = 3: allowed: 1, 2, 4, 8",
        ),
        (
            {"chatGpusPerReplica": "2"},
            "helpline:chatGpusPerReplica = 2: must be <= gpusPerNode (1): a replica runs on one node",
        ),
        (
            {"chatMaxNumBatchedTokens": "512", "chatMaxNumSeqs": "1024"},
            "helpline:chatMaxNumBatchedTokens = 512: must be >= chatMaxNumSeqs (1024); vLLM refuses a smaller "
            "step budget",
        ),
        (
            {"classifierServedModelName": "qwen2.5-7b-instruct"},
            "helpline:classifierServedModelName = 'qwen2.5-7b-instruct': must differ from chatServedModelName "
            "(the router routes by served name)",
        ),
        (
            {"chatServedModelName": "Chat Model"},
            "helpline:chatServedModelName = 'Chat Model': must be 1-38 lower-case letters, digits, '.' or '-', "
            "starting and ending with a letter or digit",
        ),
        (
            {"chatDtype": "bfloat16", "chatQuantization": "awq"},
            "helpline:chatDtype = 'bfloat16': awq kernels run in float16; use auto or float16",
        ),
        (
            {"chatMemory": "12GB"},
            "helpline:chatMemory = '12GB': must be a Kubernetes quantity such as 3, 3500m or 12Gi",
        ),
    ],
)
def test_model_rules_name_the_key_and_what_is_allowed(values: dict[str, str], expected: str) -> None:
    assert issues_of({**AWS_DEV, **values})[0] == expected


@pytest.mark.parametrize("flag", ["--trust-remote-code", "--trust-remote-code=true"])
def test_trust_remote_code_is_refused(flag: str) -> None:
    assert issues_of({**AWS_DEV, "chatExtraEngineArgs": f'["{flag}"]'}) == [
        f"helpline:chatExtraEngineArgs = ['{flag}']: --trust-remote-code is refused: it runs code shipped with the "
        "model repository inside the engine"
    ]


def test_flags_the_component_manages_cannot_be_overridden() -> None:
    (issue,) = issues_of({**AWS_DEV, "classifierExtraEngineArgs": '["--api-key=abc"]'})
    assert "--api-key is set by the serving component from its own key" in issue


def test_gpus_per_replica_must_be_a_multiple_of_tensor_parallelism() -> None:
    found = issues_of({**AWS_DEV, "gpusPerNode": "4", "chatTensorParallelSize": "2", "chatGpusPerReplica": "3"})
    assert found == [
        "helpline:chatGpusPerReplica = 3: must be a multiple of chatTensorParallelSize (2); the quotient is the "
        "pipeline-parallel size"
    ]


def test_weights_must_leave_room_for_the_kv_cache() -> None:
    (issue,) = issues_of({**AWS_DEV, "chatWeightsGb": "40"})
    assert issue.startswith("helpline:chatWeightsGb = 40.0: 40.0 GB of weights per GPU leaves too little KV cache")


def test_the_gpu_pool_must_hold_every_model_at_its_maximum() -> None:
    assert issues_of({**AWS_DEV, "chatMaxReplicas": "3"}) == [
        "helpline:gpuPoolMaxNodes = 2: the models may need 4 GPUs at their maximum (chat 3x1 + classifier 1x1) but "
        "the pool holds 2 (gpuPoolMaxNodes x gpusPerNode); raise it or lower the models' maxReplicas"
    ]


def test_the_simulator_needs_no_gpu_capacity_and_skips_gpu_rules() -> None:
    config = parse_stack_config(
        "dev", {**AWS_DEV, "engine": "simulator", "chatMaxReplicas": "5", "chatWeightsGb": "99"}
    )
    assert config.serving.engine == "simulator"


def test_prod_refuses_low_gpu_memory_utilization_scale_to_zero_and_the_simulator() -> None:
    found = issues_of(
        {
            **AWS_PROD,
            "engine": "simulator",
            "chatGpuMemoryUtilization": "0.8",
            "classifierDeploymentPattern": "serverless",
            "classifierMinReplicas": "0",
            "routerMinReplicas": "1",
        },
        stack="prod",
    )
    assert found == [
        "helpline:engine = 'simulator': prod allows only vllm",
        "helpline:routerMinReplicas = 1: prod needs at least 2",
        "helpline:chatGpuMemoryUtilization = 0.8: prod allows only 0.85 to 0.98 (less wastes the GPU's KV cache)",
        "helpline:classifierDeploymentPattern = 'serverless': prod allows only horizontal: it never scales to zero "
        "(the first request after idle would wait minutes for a cold start); minReplicas 2 keeps a replica through a "
        "node or zone loss",
    ]


def test_dev_accepts_low_gpu_memory_utilization_and_scale_to_zero() -> None:
    config = parse_stack_config(
        "dev",
        {**AWS_DEV, "chatGpuMemoryUtilization": "0.7", "chatDeploymentPattern": "serverless", "chatMinReplicas": "0"},
    )
    chat = config.serving.model("chat")
    assert (chat.min_replicas, chat.pattern, chat.scales_to_zero, chat.autoscaled) == (0, "serverless", True, True)


def test_the_default_pattern_is_horizontal_and_single_needs_no_other_key() -> None:
    config = parse_stack_config("dev", {**AWS_DEV, "classifierDeploymentPattern": "single"})
    chat, classifier = config.serving.models
    assert (chat.pattern, chat.autoscaled) == ("horizontal", True)
    assert (classifier.pattern, classifier.autoscaled, classifier.min_replicas, classifier.max_replicas) == (
        "single",
        False,
        1,
        1,
    )


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {"chatDeploymentPattern": "single", "chatMaxReplicas": "3"},
            [
                "helpline:chatMaxReplicas = 3: the single pattern runs exactly one replica: set 1, or set "
                "chatDeploymentPattern to horizontal (or serverless) to scale"
            ],
        ),
        (
            {"chatDeploymentPattern": "single", "chatMinReplicas": "0"},
            [
                "helpline:chatMinReplicas = 0: the single pattern runs exactly one replica: set 1, or set "
                "chatDeploymentPattern to horizontal (or serverless) to scale"
            ],
        ),
        (
            {"classifierMinReplicas": "0"},
            [
                "helpline:classifierMinReplicas = 0: the horizontal pattern keeps at least one replica: set 1 or "
                "more, or set classifierDeploymentPattern to serverless to scale to zero when idle"
            ],
        ),
        (
            {"chatDeploymentPattern": "serverless"},
            [
                "helpline:chatMinReplicas = 1: the serverless pattern scales to zero when idle: set 0, or set "
                "chatDeploymentPattern to horizontal to keep replicas"
            ],
        ),
    ],
)
def test_replica_bounds_that_contradict_the_pattern_are_refused(values: dict[str, str], expected: list[str]) -> None:
    assert issues_of({**AWS_DEV, **values})[: len(expected)] == expected  # then the capacity rules, if any


def test_an_unknown_pattern_names_the_allowed_ones() -> None:
    (found,) = issues_of({**AWS_DEV, "chatDeploymentPattern": "lambda"})
    assert found.startswith("helpline:chatDeploymentPattern = 'lambda'")
    assert "'single', 'horizontal' or 'serverless'" in found


def test_prod_refuses_the_single_pattern() -> None:
    assert issues_of(
        {
            **AWS_PROD,
            "classifierDeploymentPattern": "single",
            "classifierMinReplicas": "1",
            "classifierMaxReplicas": "1",
        },
        stack="prod",
    ) == [
        "helpline:classifierDeploymentPattern = 'single': prod allows only horizontal: one replica serves nobody "
        "through a node or zone loss or an upgrade"
    ]


def test_images_must_be_pinned_by_digest() -> None:
    assert issues_of({**AWS_DEV, "vllmImage": "vllm/vllm-openai:latest"}) == [
        "helpline:vllmImage = 'vllm/vllm-openai:latest': must be pinned by digest: "
        "<repository>[:<tag>]@sha256:<64 hex digits>"
    ]


def test_the_unresolved_vllm_digest_is_refused_unless_the_stack_says_so() -> None:
    """The default image's digest is a placeholder (none could be resolved here): a cluster could not pull it."""
    unacknowledged = {**AWS_PROD, "allowUnresolvedVllmDigest": "false"}
    assert DEFAULT_VLLM_IMAGE.endswith(f"@{UNRESOLVED_DIGEST}")
    expected = (
        f"helpline:vllmImage = '{DEFAULT_VLLM_IMAGE}': its digest is the 'not resolved yet' placeholder: resolve it "
        "where a registry is reachable (crane digest vllm/vllm-openai:v0.32.0) and set it, or set "
        "allowUnresolvedVllmDigest: true to render anyway (no cluster can pull it)"
    )
    assert issues_of(unacknowledged, "prod") == [expected]
    resolved = f"vllm/vllm-openai:v0.32.0@sha256:{'a' * 64}"
    assert parse_stack_config("prod", {**unacknowledged, "vllmImage": resolved}).serving.vllm_image == resolved
    assert parse_stack_config("dev", AWS_DEV).serving.vllm_image == DEFAULT_VLLM_IMAGE  # dev renders; README warns


def test_unknown_engine_names_the_allowed_values() -> None:
    assert issues_of({**AWS_DEV, "engine": "tgi"}) == ["helpline:engine = 'tgi': Input should be 'vllm' or 'simulator'"]


def test_hf_token_must_be_a_secret() -> None:
    with pytest.raises(StackConfigError) as caught:
        parse_stack_config("dev", {**AWS_DEV, "hfToken": "hf_abc"})
    assert [str(i) for i in caught.value.issues] == [
        "helpline:hfToken = '<plain text>': must be set with `pulumi config set --secret hfToken`"
    ]
    config = parse_stack_config("dev", {**AWS_DEV, "hfToken": "hf_abc"}, secret_keys=("hfToken",))
    assert config.serving.hf_token is True


def test_prod_refuses_a_gpu_pool_without_room_for_a_surge_replica_per_model() -> None:
    found = issues_of({**AWS_PROD, "chatMaxReplicas": "6"}, "prod")
    assert found == [
        "helpline:gpuPoolMaxNodes = 8: prod engines roll new-before-old: at their maximum the models need 9 GPUs with "
        "one surge replica each, but the pool holds 8 (gpuPoolMaxNodes x gpusPerNode); raise it"
    ]
