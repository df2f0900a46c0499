"""``Serving``: every served model with its cache, engine and autoscaler, the router in front, and KEDA.

The objects are built by the pure functions of the sibling modules; this component only declares them, in
dependency order, on the cluster's provider, and exposes what the services stage needs: the router URL, a
direct URL per model, and the engine API key (a secret) with the Secret that holds it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra.cluster import ClusterInterface
from infra.k8s.labels import standard_labels
from infra.k8s.objects import secret, service_account
from infra.k8s.resources import declare
from infra.naming import MODEL_LOADER_SERVICE_ACCOUNT, Naming
from infra.serving import autoscaling, engine, model_cache, network, patterns, router
from infra.serving.engine import ApiKeyRef
from infra.serving.network import PrometheusRef
from infra.serving.spec import ModelRole, ModelSpec, ServingSpec

API_KEY_SECRET = ApiKeyRef(secret="vllm-api-key", key="api-key")  # noqa: S106  (names, not values)
HF_TOKEN_SECRET = "hf-token"  # noqa: S105
#: Long enough to resist guessing, alphanumeric so it survives headers and env files unquoted.
API_KEY_LENGTH = 48


@dataclass(frozen=True)
class ServingArgs:
    spec: ServingSpec
    cluster: ClusterInterface
    naming: Naming
    prometheus: PrometheusRef
    #: the ``hfToken`` secret when the stack sets it; only the loader Jobs receive it
    hf_token: pulumi.Input[str] | None = None
    #: e.g. the platform's namespaces and default policies: created before anything of ours
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)


@dataclass(frozen=True)
class ModelEndpoint:
    """How the services reach one served model."""

    role: ModelRole
    served_model_name: str
    #: through the router (session affinity, retries): what the chat service should use
    router_url: str
    #: the model's own headless Service (no affinity); for diagnostics and fallback
    direct_url: str


class Serving(pulumi.ComponentResource):
    """The inference tier of one stack."""

    router_url: str
    models: dict[ModelRole, ModelEndpoint]
    api_key: pulumi.Output[str]
    api_key_secret: ApiKeyRef
    namespace: str

    def __init__(self, name: str, args: ServingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("helpline:serving:Serving", name, None, opts)
        self._args = args
        spec, naming = args.spec, args.naming
        self.namespace = naming.namespace("serving")
        self._stack = naming.stack
        self._labels = standard_labels("serving", "serving", self._stack)

        api_key = random.RandomPassword(
            "vllm-api-key",
            length=API_KEY_LENGTH,
            special=False,
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["result"]),
        )
        self.api_key = pulumi.Output.secret(api_key.result)
        self.api_key_secret = API_KEY_SECRET
        key_secret = self._apply(
            secret(API_KEY_SECRET.secret, self.namespace, self._labels, {API_KEY_SECRET.key: self.api_key})
        )
        self._apply(service_account(engine.ENGINE_SERVICE_ACCOUNT, self.namespace, self._labels, automount=False))

        keda = self._keda()
        loaders = self._model_cache() if spec.uses_gpus else {}
        engine_image = spec.vllm_image if spec.uses_gpus else spec.app_image
        for model in spec.models:
            self._engine(model, engine_image, [key_secret, *loaders.get(model.role, [])], keda)
        if patterns.needs_image_prepull(spec.models, uses_gpus=spec.uses_gpus):
            self._apply(
                patterns.image_prepull_daemonset(
                    spec.vllm_image,
                    namespace=self.namespace,
                    stack=self._stack,
                    gpu=args.cluster.gpu,
                    service_account=engine.ENGINE_SERVICE_ACCOUNT,
                )
            )
        self._router()
        for policy in (
            network.engine_ingress(self.namespace, args.prometheus, self._labels),
            network.router_ingress(self.namespace, naming.namespace("app"), args.prometheus, self._labels),
            network.router_egress(self.namespace, self._labels),
        ):
            self._apply(policy)

        self.router_url = router.router_url(self.namespace)
        self.models = {
            model.role: ModelEndpoint(
                role=model.role,
                served_model_name=model.served_model_name,
                router_url=self.router_url,
                direct_url=engine.engine_url(spec.engine, model, self.namespace),
            )
            for model in spec.models
        }
        self.register_outputs(
            {
                "routerUrl": self.router_url,
                "models": {role: vars(endpoint) for role, endpoint in self.models.items()},
                "apiKey": self.api_key,
            }
        )

    # --- declaration helpers -------------------------------------------------------------------------------
    def _options(self, depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
        cluster = self._args.cluster
        return pulumi.ResourceOptions(
            parent=self,
            provider=cluster.provider,
            depends_on=[*cluster.ready, *self._args.depends_on, *depends_on],
        )

    def _apply(self, obj: Mapping[str, Any], depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.CustomResource:
        """Declare one Kubernetes object given as data; named by ``metadata.name`` alone (the URNs it always had)."""
        return declare(obj, self._options(depends_on), name=obj["metadata"]["name"])

    # --- parts -------------------------------------------------------------------------------------------
    def _keda(self) -> k8s.helm.v3.Release:
        """KEDA beside the workloads it scales: the restricted serving namespace (it needs no privilege, and the
        platform namespace is privileged for node agents only); its policies sit beside it."""
        keda_namespace = self.namespace
        release = k8s.helm.v3.Release(
            autoscaling.KEDA_RELEASE,
            k8s.helm.v3.ReleaseArgs(
                name=autoscaling.KEDA_RELEASE,
                chart=autoscaling.KEDA_CHART.name,
                version=autoscaling.KEDA_CHART.version,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=autoscaling.KEDA_CHART.repo),
                namespace=keda_namespace,
                create_namespace=False,
                atomic=True,
                cleanup_on_fail=True,
                values=autoscaling.keda_values(
                    watch_namespace=self.namespace, high_availability=self._args.spec.spread_across_zones
                ),
            ),
            opts=self._options(),
        )
        for policy in network.keda_policies(keda_namespace, self._args.prometheus, self._labels):
            self._apply(policy)
        return release

    def _model_cache(self) -> dict[ModelRole, list[pulumi.Resource]]:
        """The shared cache volume, the loader identity and one loader Job per (model, revision)."""
        spec, cluster = self._args.spec, self._args.cluster
        claim = self._apply(
            model_cache.cache_claim(
                self.namespace, self._stack, cluster.model_cache_storage_class, spec.model_cache_size_gi
            )
        )
        loader_account = self._apply(
            service_account(
                MODEL_LOADER_SERVICE_ACCOUNT,
                self.namespace,
                standard_labels(model_cache.LOADER_NAME, "model-cache", self._stack),
                automount=False,
                annotations=cluster.model_store.service_account_annotations,
            )
        )
        script = model_cache.loader_script_config_map(self.namespace, self._stack)
        prerequisites: list[pulumi.Resource] = [claim, loader_account, self._apply(script)]
        token_secret: str | None = None
        if self._args.hf_token is not None:
            token_secret = HF_TOKEN_SECRET
            token = pulumi.Output.secret(self._args.hf_token)
            prerequisites.append(
                self._apply(secret(HF_TOKEN_SECRET, self.namespace, self._labels, {model_cache.HF_TOKEN_KEY: token}))
            )
        jobs: dict[ModelRole, list[pulumi.Resource]] = {}
        for model in spec.models:
            job = model_cache.loader_job(
                model,
                namespace=self.namespace,
                stack=self._stack,
                image=spec.vllm_image,
                script_config_map=script["metadata"]["name"],
                bucket_uri=cluster.model_store.bucket_uri,
                hf_token_secret=token_secret,
            )
            jobs[model.role] = [claim, self._apply(job, prerequisites)]
        return jobs

    def _engine(
        self, model: ModelSpec, image: str, prerequisites: Sequence[pulumi.Resource], keda: pulumi.Resource
    ) -> None:
        spec, namespace = self._args.spec, self.namespace
        deployment = self._apply(
            engine.engine_deployment(
                spec.engine,
                model,
                namespace=namespace,
                stack=self._stack,
                image=image,
                api_key=API_KEY_SECRET,
                gpu=self._args.cluster.gpu,
                drain_seconds=spec.drain_seconds,
                spread_across_zones=spec.spread_across_zones,
                surge_fits=spec.surge_fits,
            ),
            prerequisites,
        )
        self._apply(engine.engine_service(spec.engine, model, namespace=namespace, stack=self._stack))
        self._apply(engine.engine_disruption_budget(spec.engine, model, namespace=namespace, stack=self._stack))
        if not model.autoscaled:
            return
        self._apply(
            autoscaling.scaled_object(
                spec.engine,
                model,
                spec.autoscaling,
                namespace=namespace,
                stack=self._stack,
                prometheus_url=self._args.prometheus.url,
            ),
            [keda, deployment],
        )

    def _router(self) -> None:
        spec, namespace, stack = self._args.spec, self.namespace, self._stack
        account = self._apply(router.router_service_account(namespace, stack))
        role = self._apply(router.router_role(namespace, stack))
        binding = self._apply(router.router_role_binding(namespace, stack), [account, role])
        deployment = self._apply(
            router.router_deployment(
                kind=spec.engine,
                models=spec.models,
                namespace=namespace,
                stack=stack,
                image=spec.app_image,
                spread_across_zones=spec.spread_across_zones,
            ),
            [binding],
        )
        self._apply(router.router_service(namespace, stack))
        self._apply(router.router_disruption_budget(namespace, stack))
        self._apply(router.router_autoscaler(namespace, stack, spec.router), [deployment])
