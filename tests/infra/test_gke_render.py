"""What the dev and prod stacks declare on GCP, read back from their offline renders."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from infra.cluster import GPU_POOL, MODEL_CACHE_STORAGE_CLASS, POOL_LABEL, SYSTEM_POOL, gpu_scheduling
from infra.gcp.apis import REQUIRED_APIS
from infra.gcp.node_identity import NODE_ROLES
from infra.gcp.principals import compute_service_agent, gke_service_agent
from infra.naming import MODEL_LOADER_SERVICE_ACCOUNT, Naming
from stacks.config import parse_stack_config
from stacks.config.cluster import ClusterConfig
from stacks.render.stack_files import load_stack_settings
from tests.infra.rendering import Render

CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
CRYPTO_KEY = "gcp:kms/cryptoKey:CryptoKey"
KEY_GRANT = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"
#: The cluster stage's component: the data tier declares Google resources of its own (Cloud SQL, Memorystore, their
#: provider, APIs and key grants).
GKE_CLUSTER = "helpline:gcp:GkeGpuCluster"
SERVICE_ACCOUNT = "gcp:serviceaccount/account:Account"
NINETY_DAYS = "7776000s"


@pytest.fixture(params=["dev", "prod"])
def gke(request: pytest.FixtureRequest, renders: dict[str, Render]) -> Render:
    return renders[f"{request.param}-gcp"]


@cache
def config_of(stack: str) -> ClusterConfig:
    """The stack's validated cluster config, as the program saw it."""
    settings = load_stack_settings(stack, "gcp")
    values = {k.split(":", 1)[1]: v for k, v in settings.config.items() if k.startswith("helpline:")}
    return parse_stack_config(stack, values, {k.split(":", 1)[1] for k in settings.secret_keys}).cluster


def cluster(render: Render) -> dict[str, Any]:
    return render.one(CLUSTER)["inputs"]


def pool(render: Render, name: str) -> dict[str, Any]:
    (found,) = [r["inputs"] for r in render.of_type(NODE_POOL) if r["inputs"]["name"] == name]
    return found


def named(render: Render, type_token: str, name: str) -> dict[str, Any]:
    """The resource of ``type_token`` whose cloud-side name (``inputs.name``) is ``name``."""
    (found,) = [r for r in render.of_type(type_token) if r["inputs"].get("name") == name]
    return found


def account_email(render: Render, account_id: str) -> str:
    (found,) = [r for r in render.of_type(SERVICE_ACCOUNT) if r["inputs"]["accountId"] == account_id]
    return f"{account_id}@{found['inputs']['project']}.iam.gserviceaccount.com"


def key_id(render: Render, key_name: str) -> str:
    key = named(render, CRYPTO_KEY, key_name)
    return f"{key['inputs']['keyRing']}/cryptoKeys/{key_name}"


def depends_on(resource: dict[str, Any], type_token: str) -> list[str]:
    """Names of the resources of ``type_token`` that ``resource`` waits for."""
    return [dep.split("::", 1)[1] for dep in resource["dependsOn"] if dep.split("::", 1)[0] == type_token]


def waits_for(render: Render, resource: dict[str, Any]) -> set[str]:
    """Every resource (``type::name``) that ``resource`` waits for, directly or through its dependencies."""
    by_urn = {f"{r['type']}::{r['name']}": r for r in render.resources}
    seen: set[str] = set()
    pending = list(resource["dependsOn"])
    while pending:
        urn = pending.pop()
        if urn not in seen:
            seen.add(urn)
            pending.extend(by_urn[urn]["dependsOn"] if urn in by_urn else [])
    return seen


# --- control plane -------------------------------------------------------------------------------------------------
def test_dev_is_zonal_and_prod_regional_with_nodes_in_every_zone(renders: dict[str, Render]) -> None:
    dev, prod = cluster(renders["dev-gcp"]), cluster(renders["prod-gcp"])
    dev_config, prod_config = config_of("dev"), config_of("prod")
    assert dev["location"] == dev_config.gcp_zones[0]
    assert dev.get("nodeLocations", []) == dev_config.gcp_zones[1:], "a zonal cluster's own zone is implied"
    assert prod["location"] == prod_config.gcp_region
    assert prod["nodeLocations"] == prod_config.gcp_zones
    assert len(prod_config.gcp_zones) >= 2
    for render, config in ((renders["dev-gcp"], dev_config), (renders["prod-gcp"], prod_config)):
        for name in (SYSTEM_POOL, GPU_POOL):
            assert pool(render, name)["nodeLocations"] == config.gcp_zones


def test_nodes_are_always_private_and_the_api_private_in_prod(gke: Render) -> None:
    config = config_of(gke.stack)
    inputs = cluster(gke)
    private = inputs["privateClusterConfig"]
    assert private["enablePrivateNodes"] is True
    assert private["enablePrivateEndpoint"] is (gke.stack == "prod")
    assert private["masterIpv4CidrBlock"] == config.gcp_master_cidr
    authorized = inputs["masterAuthorizedNetworksConfig"]
    assert authorized["gcpPublicCidrsAccessEnabled"] is False
    cidrs = [block["cidrBlock"] for block in authorized["cidrBlocks"]]
    private = [config.gcp_subnet_cidr, *config.api_private_cidrs]
    assert cidrs == (private if gke.stack == "prod" else config.api_allowed_cidrs)
    assert inputs["controlPlaneEndpointsConfig"]["dnsEndpointConfig"]["allowExternalTraffic"] is config.gcp_dns_endpoint


def test_release_channel_version_and_workload_identity(gke: Render) -> None:
    config = config_of(gke.stack)
    inputs = cluster(gke)
    assert inputs["releaseChannel"] == {"channel": config.gcp_release_channel}
    assert inputs["minMasterVersion"] == config.kubernetes_version
    assert inputs["workloadIdentityConfig"] == {"workloadPool": f"{config.gcp_project}.svc.id.goog"}
    assert inputs["name"] == Naming(gke.stack).resource("gke")


def test_dataplane_v2_enforces_network_policy_without_calico(gke: Render) -> None:
    inputs = cluster(gke)
    assert inputs["datapathProvider"] == "ADVANCED_DATAPATH"
    assert inputs["addonsConfig"]["networkPolicyConfig"] == {"disabled": True}
    assert "networkPolicy" not in inputs
    assert inputs["networkingMode"] == "VPC_NATIVE"
    assert inputs["ipAllocationPolicy"]["clusterSecondaryRangeName"] == "pods"
    assert inputs["ipAllocationPolicy"]["servicesSecondaryRangeName"] == "services"


def test_shielded_nodes_in_the_cluster_and_every_pool(gke: Render) -> None:
    inputs = cluster(gke)
    assert inputs["enableShieldedNodes"] is True
    shielded = {"enableSecureBoot": True, "enableIntegrityMonitoring": True}
    assert inputs["nodeConfig"]["shieldedInstanceConfig"] == shielded, "even the short-lived default pool"
    for name in (SYSTEM_POOL, GPU_POOL):
        assert pool(gke, name)["nodeConfig"]["shieldedInstanceConfig"] == shielded


def test_secrets_are_encrypted_with_a_rotating_key_only_gke_may_use(gke: Render) -> None:
    config = config_of(gke.stack)
    secrets_key = key_id(gke, "gke-secrets")
    assert secrets_key.startswith(f"projects/{config.gcp_project}/locations/{config.gcp_region}/keyRings/")
    assert cluster(gke)["databaseEncryption"] == {"state": "ENCRYPTED", "keyName": secrets_key}
    for key in gke.of_type(CRYPTO_KEY):
        assert key["inputs"]["rotationPeriod"] == NINETY_DAYS
        assert key["inputs"]["purpose"] == "ENCRYPT_DECRYPT"
    grants = {(g["inputs"]["cryptoKeyId"], g["inputs"]["member"]) for g in gke.within(GKE_CLUSTER, KEY_GRANT)}
    assert grants == {
        (secrets_key, gke_service_agent(config.gcp_project_number)),
        (key_id(gke, "data"), compute_service_agent(config.gcp_project_number)),
    }
    assert {g["inputs"]["role"] for g in gke.within(GKE_CLUSTER, KEY_GRANT)} == {
        "roles/cloudkms.cryptoKeyEncrypterDecrypter"
    }
    grant_names = [g["name"] for g in gke.of_type(KEY_GRANT) if g["inputs"]["cryptoKeyId"] == secrets_key]
    assert depends_on(gke.one(CLUSTER), KEY_GRANT) == grant_names, "the cluster waits for GKE's grant"


def test_default_pool_removed_and_prod_protected_from_deletion(gke: Render) -> None:
    inputs = cluster(gke)
    assert inputs["removeDefaultNodePool"] is True
    assert inputs["deletionProtection"] is (gke.stack == "prod")
    assert inputs["nodeConfig"]["serviceAccount"] == account_email(gke, f"helpline-{gke.stack}-nodes")


def test_maintenance_window_and_telemetry(gke: Render) -> None:
    config = config_of(gke.stack)
    inputs = cluster(gke)
    window = inputs["maintenancePolicy"]["recurringWindow"]
    assert window["recurrence"] == f"FREQ=WEEKLY;BYDAY={','.join(config.gcp_maintenance_days)}"
    assert window["startTime"].endswith(f"T{config.gcp_maintenance_start}:00Z")
    assert inputs["loggingConfig"]["enableComponents"] == ["SYSTEM_COMPONENTS", "WORKLOADS"]
    assert inputs["monitoringConfig"]["enableComponents"] == ["SYSTEM_COMPONENTS"]
    assert inputs["monitoringConfig"]["managedPrometheus"] == {"enabled": False}, "the platform runs Prometheus"


def test_api_hardening(gke: Render) -> None:
    inputs = cluster(gke)
    assert inputs["masterAuth"]["clientCertificateConfig"] == {"issueClientCertificate": False}
    assert inputs["anonymousAuthenticationConfig"] == {"mode": "LIMITED"}
    assert inputs["rbacBindingConfig"] == {
        "enableInsecureBindingSystemAuthenticated": False,
        "enableInsecureBindingSystemUnauthenticated": False,
    }


def test_every_google_resource_goes_through_the_stack_provider(gke: Render) -> None:
    config = config_of(gke.stack)
    (provider,) = gke.within(GKE_CLUSTER, "pulumi:providers:gcp")
    assert provider["inputs"]["project"] == config.gcp_project
    assert provider["inputs"]["region"] == config.gcp_region
    google = [r for r in gke.within(GKE_CLUSTER) if r["type"].startswith("gcp:")]
    assert google
    assert {r["provider"].split("::")[0] for r in google} == {provider["name"]}


def test_required_apis_are_enabled_first_and_kept_on_destroy(gke: Render) -> None:
    services = gke.within(GKE_CLUSTER, "gcp:projects/service:Service")
    assert {s["inputs"]["service"] for s in services} == set(REQUIRED_APIS)
    assert all(s["inputs"]["disableOnDestroy"] is False for s in services)
    service_urns = {f"{s['type']}::{s['name']}" for s in services}
    for resource in gke.within(GKE_CLUSTER):
        if resource["type"].startswith("gcp:") and resource["type"] != "gcp:projects/service:Service":
            assert service_urns <= waits_for(gke, resource), resource["name"]


# --- node pools ----------------------------------------------------------------------------------------------------
def test_gpu_pool_has_the_accelerators_driver_taint_and_label(gke: Render) -> None:
    config = config_of(gke.stack)
    node_config = pool(gke, GPU_POOL)["nodeConfig"]
    assert node_config["machineType"] == config.gcp_gpu_machine_type
    assert node_config["guestAccelerators"] == [
        {
            "type": config.gpu_type,
            "count": config.gpus_per_node,
            "gpuDriverInstallationConfig": {"gpuDriverVersion": "LATEST"},
        }
    ]
    scheduling = gpu_scheduling()
    assert node_config["labels"] == dict(scheduling.node_selector)
    (toleration,) = scheduling.tolerations
    assert node_config["taints"] == [{"key": toleration["key"], "value": toleration["value"], "effect": "NO_SCHEDULE"}]


def test_system_pool_is_labelled_and_untainted(gke: Render) -> None:
    config = config_of(gke.stack)
    node_config = pool(gke, SYSTEM_POOL)["nodeConfig"]
    assert node_config["labels"] == {POOL_LABEL: SYSTEM_POOL}
    assert not node_config.get("taints")
    assert not node_config.get("guestAccelerators")
    assert node_config["machineType"] == config.gcp_system_machine_type
    assert node_config["spot"] is False


def test_gpus_are_spot_in_dev_and_on_demand_in_prod(renders: dict[str, Render]) -> None:
    dev, prod = pool(renders["dev-gcp"], GPU_POOL), pool(renders["prod-gcp"], GPU_POOL)
    assert dev["nodeConfig"]["spot"] is True
    assert dev["autoscaling"]["locationPolicy"] == "ANY", "spot capacity from whichever zone has it"
    assert (dev["upgradeSettings"]["maxSurge"], dev["upgradeSettings"]["maxUnavailable"]) == (0, 1)
    assert prod["nodeConfig"]["spot"] is False
    assert prod["autoscaling"]["locationPolicy"] == "BALANCED"
    assert (prod["upgradeSettings"]["maxSurge"], prod["upgradeSettings"]["maxUnavailable"]) == (1, 0)


def test_pool_limits_are_totals_so_prod_minimum_means_two_gpu_nodes(renders: dict[str, Render]) -> None:
    for stack, gpu_minimum in (("dev", 0), ("prod", 2)):
        render, config = renders[f"{stack}-gcp"], config_of(stack)
        gpu = pool(render, GPU_POOL)["autoscaling"]
        assert gpu["totalMinNodeCount"] == config.gpu_pool_min_nodes == gpu_minimum
        assert gpu["totalMaxNodeCount"] == config.gpu_pool_max_nodes
        system = pool(render, SYSTEM_POOL)["autoscaling"]
        assert (system["totalMinNodeCount"], system["totalMaxNodeCount"]) == (
            config.system_pool_min_nodes,
            config.system_pool_max_nodes,
        )
        for name in (SYSTEM_POOL, GPU_POOL):
            autoscaling = pool(render, name)["autoscaling"]
            assert "minNodeCount" not in autoscaling, "per-zone limits would multiply by the zone count"
            assert "maxNodeCount" not in autoscaling
    assert pool(renders["prod-gcp"], GPU_POOL)["initialNodeCount"] == 1, "per zone: three zones start with three"
    assert pool(renders["dev-gcp"], GPU_POOL)["initialNodeCount"] == 0


def test_nodes_run_as_a_least_privilege_account(gke: Render) -> None:
    email = account_email(gke, f"helpline-{gke.stack}-nodes")
    for name in (SYSTEM_POOL, GPU_POOL):
        assert pool(gke, name)["nodeConfig"]["serviceAccount"] == email
    members = [r["inputs"] for r in gke.of_type("gcp:projects/iAMMember:IAMMember")]
    assert {(m["role"], m["member"]) for m in members} == {(role, f"serviceAccount:{email}") for role in NODE_ROLES}
    for name in (SYSTEM_POOL, GPU_POOL):
        resource = next(r for r in gke.of_type(NODE_POOL) if r["inputs"]["name"] == name)
        assert depends_on(resource, "gcp:projects/iAMMember:IAMMember"), "nodes start with their roles granted"


def test_node_hardening_and_management(gke: Render) -> None:
    data_key = key_id(gke, "data")
    for name in (SYSTEM_POOL, GPU_POOL):
        inputs = pool(gke, name)
        node_config = inputs["nodeConfig"]
        assert node_config["imageType"] == "COS_CONTAINERD"
        assert node_config["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
        assert node_config["kubeletConfig"] == {"insecureKubeletReadonlyPortEnabled": "FALSE"}
        assert node_config["metadata"] == {"disable-legacy-endpoints": "true"}
        assert node_config["bootDiskKmsKey"] == data_key
        assert inputs["management"] == {"autoRepair": True, "autoUpgrade": True}


# --- network -------------------------------------------------------------------------------------------------------
def test_vpc_is_custom_mode_with_secondary_ranges_and_private_google_access(gke: Render) -> None:
    config = config_of(gke.stack)
    naming = Naming(gke.stack)
    network = named(gke, "gcp:compute/network:Network", naming.resource("vpc"))["inputs"]
    assert network["autoCreateSubnetworks"] is False
    subnet = named(gke, "gcp:compute/subnetwork:Subnetwork", naming.resource("nodes"))["inputs"]
    assert subnet["ipCidrRange"] == config.gcp_subnet_cidr
    assert subnet["secondaryIpRanges"] == [
        {"rangeName": "pods", "ipCidrRange": config.gcp_pods_cidr},
        {"rangeName": "services", "ipCidrRange": config.gcp_services_cidr},
    ]
    assert subnet["privateIpGoogleAccess"] is True
    assert subnet["logConfig"]["metadata"] == "INCLUDE_ALL_METADATA"
    assert cluster(gke)["subnetwork"].endswith(f"/regions/{config.gcp_region}/subnetworks/{naming.resource('nodes')}")


def test_cloud_nat_covers_nodes_and_pods_and_logs_errors(gke: Render) -> None:
    (nat,) = [r["inputs"] for r in gke.of_type("gcp:compute/routerNat:RouterNat")]
    assert nat["sourceSubnetworkIpRangesToNat"] == "LIST_OF_SUBNETWORKS"
    (subnet,) = nat["subnetworks"]
    assert subnet["sourceIpRangesToNats"] == ["ALL_IP_RANGES"]
    assert subnet["name"].endswith(f"/subnetworks/{Naming(gke.stack).resource('nodes')}")
    assert nat["logConfig"] == {"enable": True, "filter": "ERRORS_ONLY"}
    assert nat["enableDynamicPortAllocation"] is True
    assert nat["router"] == Naming(gke.stack).resource("router")


def test_the_only_firewall_rule_lets_the_control_plane_reach_webhooks(gke: Render) -> None:
    config = config_of(gke.stack)
    (rule,) = [r["inputs"] for r in gke.of_type("gcp:compute/firewall:Firewall")]
    assert rule["direction"] == "INGRESS"
    assert rule["sourceRanges"] == [config.gcp_master_cidr]
    assert rule["targetServiceAccounts"] == [account_email(gke, f"helpline-{gke.stack}-nodes")]
    assert rule["allows"] == [{"protocol": "tcp", "ports": ["6443", "8443", "9443"]}]
    assert "denies" not in rule


def test_private_service_access_is_ready_for_the_data_tier(gke: Render) -> None:
    config = config_of(gke.stack)
    naming = Naming(gke.stack)
    address = named(gke, "gcp:compute/globalAddress:GlobalAddress", naming.resource("private-services"))["inputs"]
    network, prefix = config.gcp_private_services_cidr.split("/")
    assert (address["purpose"], address["addressType"]) == ("VPC_PEERING", "INTERNAL")
    assert (address["address"], address["prefixLength"]) == (network, int(prefix))
    (connection,) = [r["inputs"] for r in gke.of_type("gcp:servicenetworking/connection:Connection")]
    assert connection["service"] == "servicenetworking.googleapis.com"
    assert connection["reservedPeeringRanges"] == [naming.resource("private-services")]
    assert connection["network"] == address["network"]


# --- storage and the model bucket ----------------------------------------------------------------------------------
def test_model_cache_storage_class_is_filestore_and_its_csi_driver_is_on(gke: Render) -> None:
    config = config_of(gke.stack)
    naming = Naming(gke.stack)
    assert cluster(gke)["addonsConfig"]["gcpFilestoreCsiDriverConfig"] == {"enabled": True}
    storage_class = gke.object("StorageClass", MODEL_CACHE_STORAGE_CLASS)
    assert storage_class["provisioner"] == "filestore.csi.storage.gke.io"
    assert storage_class["parameters"]["tier"] == config.gcp_model_cache_tier
    assert storage_class["parameters"]["network"] == naming.resource("vpc")
    assert storage_class["parameters"]["connect-mode"] == "PRIVATE_SERVICE_ACCESS"
    assert storage_class["parameters"]["reserved-ip-range"] == naming.resource("private-services")
    assert storage_class["allowVolumeExpansion"] is True
    assert storage_class["volumeBindingMode"] == "WaitForFirstConsumer"


def test_block_storage_class_encrypts_with_the_data_key(gke: Render) -> None:
    assert cluster(gke)["addonsConfig"]["gcePersistentDiskCsiDriverConfig"] == {"enabled": True}
    storage_class = gke.object("StorageClass", "pd-balanced-cmek")
    assert storage_class["provisioner"] == "pd.csi.storage.gke.io"
    assert storage_class["parameters"]["type"] == "pd-balanced"
    assert storage_class["parameters"]["disk-encryption-kms-key"] == key_id(gke, "data")
    assert storage_class["reclaimPolicy"] == ("Retain" if gke.stack == "prod" else "Delete"), "prod keeps its data"
    annotations = storage_class["metadata"].get("annotations", {})
    assert "storageclass.kubernetes.io/is-default-class" not in annotations, "asked for by name"


def test_model_bucket_is_private_versioned_and_regional(gke: Render) -> None:
    config = config_of(gke.stack)
    (bucket,) = [r["inputs"] for r in gke.of_type("gcp:storage/bucket:Bucket")]
    assert bucket["uniformBucketLevelAccess"] is True
    assert bucket["publicAccessPrevention"] == "enforced"
    assert bucket["versioning"] == {"enabled": True}
    assert bucket["location"] == config.gcp_region
    assert bucket["lifecycleRules"] == [{"action": {"type": "Delete"}, "condition": {"daysSinceNoncurrentTime": 30}}]
    assert bucket["forceDestroy"] is (gke.stack == "dev"), "prod refuses to delete a bucket that holds weights"


def test_only_the_model_loader_may_read_the_bucket(gke: Render) -> None:
    config = config_of(gke.stack)
    naming = Naming(gke.stack)
    reader = account_email(gke, f"helpline-{gke.stack}-model-reader")
    (bucket,) = [r["inputs"] for r in gke.of_type("gcp:storage/bucket:Bucket")]
    grants = [r["inputs"] for r in gke.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")]
    assert grants == [
        {"bucket": bucket["name"], "role": "roles/storage.objectViewer", "member": f"serviceAccount:{reader}"}
    ]
    bindings = gke.of_type("gcp:serviceaccount/iAMMember:IAMMember")
    (binding,) = bindings
    assert binding["inputs"]["serviceAccountId"].endswith(f"/serviceAccounts/{reader}")
    assert binding["inputs"]["role"] == "roles/iam.workloadIdentityUser"
    assert binding["inputs"]["member"] == (
        f"serviceAccount:{config.gcp_project}.svc.id.goog[{naming.namespace('serving')}/{MODEL_LOADER_SERVICE_ACCOUNT}]"
    )
    assert depends_on(binding, CLUSTER), "the workload pool exists only once the cluster does"


def test_a_vpn_range_reaches_the_private_api_when_the_stack_names_it(variants: dict[str, Render]) -> None:
    inputs = cluster(variants["prod-gcp-secrets"])
    blocks = inputs["masterAuthorizedNetworksConfig"]["cidrBlocks"]
    assert {"cidrBlock": "10.200.0.0/16", "displayName": "api-private-0"} in blocks
    assert inputs["privateClusterConfig"]["enablePrivateEndpoint"] is True
