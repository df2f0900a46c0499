"""What the dev and prod stacks declare on AWS, read back from their offline renders."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

import pytest

from infra.aws.iam_policies import load_balancer_controller_policy, to_json
from infra.cluster import GPU_TAINT_KEY, MODEL_CACHE_STORAGE_CLASS, POOL_LABEL
from stacks.config import parse_stack_config
from stacks.config.cluster import ClusterConfig
from stacks.render.stack_files import load_stack_settings
from tests.infra.rendering import Render

ZONES = {"dev": ["us-east-1a"], "prod": ["us-east-1a", "us-east-1b", "us-east-1c"]}
#: the Helm releases the cluster component installs (later stages add their own)
CLUSTER_RELEASES = ("cluster-autoscaler", "aws-load-balancer-controller")


#: The cluster stage's component: the data tier declares AWS resources of its own (RDS, ElastiCache, their provider).
EKS_CLUSTER = "helpline:aws:EksGpuCluster"


@pytest.fixture(params=["dev", "prod"])
def eks(request: pytest.FixtureRequest, renders: dict[str, Render]) -> Render:
    return renders[f"{request.param}-aws"]


@cache
def config_of(stack: str) -> ClusterConfig:
    """The stack's validated cluster config, as the program saw it."""
    settings = load_stack_settings(stack, "aws")
    values = {k.split(":", 1)[1]: v for k, v in settings.config.items() if k.startswith("helpline:")}
    return parse_stack_config(stack, values, {k.split(":", 1)[1] for k in settings.secret_keys}).cluster


def cluster(render: Render) -> dict[str, Any]:
    return render.one("aws:eks/cluster:Cluster")["inputs"]


def by_name(render: Render, type_token: str) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in render.of_type(type_token)}


def role_named(render: Render, role_name: str) -> dict[str, Any]:
    (role,) = [r for r in render.of_type("aws:iam/role:Role") if r["inputs"]["name"] == role_name]
    return role


def inline_policies(render: Render, role: dict[str, Any]) -> list[dict[str, Any]]:
    """Inline policies attached to ``role`` (RolePolicy inputs name the role by its resource name)."""
    return [
        r["inputs"]
        for r in render.of_type("aws:iam/rolePolicy:RolePolicy")
        if r["inputs"]["role"].startswith(f"{role['name']}-")
    ]


def trust_subjects(role: dict[str, Any]) -> list[str]:
    (statement,) = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
    (subjects,) = [v for k, v in statement["Condition"]["StringEquals"].items() if k.endswith(":sub")]
    return subjects if isinstance(subjects, list) else [subjects]


def addons(render: Render) -> dict[str, dict[str, Any]]:
    return {r["inputs"]["addonName"]: r["inputs"] for r in render.of_type("aws:eks/addon:Addon")}


def node_groups(render: Render) -> dict[str, dict[str, Any]]:
    """Node groups by name prefix (EKS appends a unique suffix, so a replacement never clashes with the old one)."""
    return {
        r["inputs"]["nodeGroupNamePrefix"].removesuffix("-"): r["inputs"]
        for r in render.of_type("aws:eks/nodeGroup:NodeGroup")
    }


# --- network ------------------------------------------------------------------------------------------------
def test_each_zone_has_a_private_and_a_public_subnet_tagged_for_the_load_balancer_controller(eks: Render) -> None:
    subnets = [r["inputs"] for r in eks.of_type("aws:ec2/subnet:Subnet")]
    ownership = {"kubernetes.io/cluster/helpline-" + eks.stack + "-eks": "owned"}
    for zone in ZONES[eks.stack]:
        in_zone = [s for s in subnets if s["availabilityZone"] == zone]
        public = [s for s in in_zone if "kubernetes.io/role/elb" in s["tags"]]
        private = [s for s in in_zone if "kubernetes.io/role/internal-elb" in s["tags"]]
        assert len(public) == len(private) == 1, zone
        assert ownership.items() <= public[0]["tags"].items()
        assert ownership.items() <= private[0]["tags"].items()
        assert public[0]["tags"]["kubernetes.io/role/elb"] == "1"
        assert not public[0].get("mapPublicIpOnLaunch")
    assert len(subnets) == 2 * len(ZONES[eks.stack])
    assert {s["cidrBlock"] for s in subnets} <= {s["cidrBlock"] for s in subnets if s["cidrBlock"].startswith("10.")}


def test_nat_gateways_follow_the_stack_policy(eks: Render) -> None:
    gateways = eks.of_type("aws:ec2/natGateway:NatGateway")
    assert len(gateways) == (1 if eks.stack == "dev" else 3)
    private_tables = [r for r in eks.of_type("aws:ec2/routeTable:RouteTable") if "-private-" in r["name"]]
    assert len(private_tables) == len(ZONES[eks.stack])
    used = {table["inputs"]["routes"][0]["natGatewayId"] for table in private_tables}
    assert len(used) == len(gateways), "each private route table leaves through its zone's NAT (or the single one)"


def test_model_downloads_bypass_the_nat_through_an_s3_gateway_endpoint(eks: Render) -> None:
    endpoint = eks.one("aws:ec2/vpcEndpoint:VpcEndpoint")["inputs"]
    assert endpoint["serviceName"] == "com.amazonaws.us-east-1.s3"
    assert endpoint["vpcEndpointType"] == "Gateway"
    assert len(endpoint["routeTableIds"]) == len(ZONES[eks.stack])


def test_flow_logs_record_all_traffic_and_the_default_security_group_is_empty(eks: Render) -> None:
    flow = eks.one("aws:ec2/flowLog:FlowLog")["inputs"]
    assert (flow["trafficType"], flow["logDestinationType"]) == ("ALL", "cloud-watch-logs")
    default_sg = eks.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")["inputs"]
    assert not default_sg.get("ingress")
    assert not default_sg.get("egress")


# --- control plane ------------------------------------------------------------------------------------------
def test_the_api_endpoint_is_private_in_prod_and_cidr_restricted_in_dev(eks: Render) -> None:
    vpc_config = cluster(eks)["vpcConfig"]
    assert vpc_config["endpointPrivateAccess"] is True
    if eks.stack == "prod":
        assert vpc_config["endpointPublicAccess"] is False
        assert "publicAccessCidrs" not in vpc_config
    else:
        assert vpc_config["endpointPublicAccess"] is True
        assert vpc_config["publicAccessCidrs"] == config_of(eks.stack).api_allowed_cidrs
    assert len(vpc_config["subnetIds"]) == len(ZONES[eks.stack])


def test_the_cluster_runs_the_pinned_version_with_kms_encrypted_secrets_and_full_logging(eks: Render) -> None:
    spec = cluster(eks)
    assert spec["name"] == f"helpline-{eks.stack}-eks"
    assert spec["version"] == config_of(eks.stack).kubernetes_version
    assert spec["encryptionConfig"]["resources"] == ["secrets"]
    assert spec["encryptionConfig"]["provider"]["keyArn"].startswith("arn:aws:kms:us-east-1:")
    assert set(spec["enabledClusterLogTypes"]) == {"api", "audit", "authenticator", "controllerManager", "scheduler"}
    assert spec["bootstrapSelfManagedAddons"] is False
    assert spec["upgradePolicy"] == {"supportType": "STANDARD"}
    assert spec["deletionProtection"] is (eks.stack == "prod")
    key = eks.one("aws:kms/key:Key")["inputs"]
    assert key["enableKeyRotation"] is True
    assert key["deletionWindowInDays"] == 30
    log_group = next(
        r["inputs"]
        for r in eks.of_type("aws:cloudwatch/logGroup:LogGroup")
        if r["inputs"]["name"].startswith("/aws/eks/")
    )
    assert log_group == {
        "name": f"/aws/eks/helpline-{eks.stack}-eks/cluster",
        "retentionInDays": config_of(eks.stack).aws_log_retention_days,
    }


def test_admins_come_from_access_entries_only(eks: Render) -> None:
    access = cluster(eks)["accessConfig"]
    assert access["authenticationMode"] == "API"
    entries = [r["inputs"] for r in eks.of_type("aws:eks/accessEntry:AccessEntry")]
    associations = [r["inputs"] for r in eks.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")]
    if eks.stack == "prod":
        admins = config_of(eks.stack).aws_admin_principal_arns
        assert access["bootstrapClusterCreatorAdminPermissions"] is False
        assert sorted(e["principalArn"] for e in entries) == sorted(admins)
        assert {e["type"] for e in entries} == {"STANDARD"}
        assert sorted(a["principalArn"] for a in associations) == sorted(admins)
        for association in associations:
            assert association["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
            assert association["accessScope"] == {"type": "cluster"}
    else:  # no admin listed: whoever creates the cluster administers it
        assert access["bootstrapClusterCreatorAdminPermissions"] is True
        assert not entries
        assert not associations


def test_an_oidc_provider_trusts_the_cluster_issuer_for_sts(eks: Render) -> None:
    provider = eks.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")["inputs"]
    assert provider["clientIdLists"] == ["sts.amazonaws.com"]
    assert provider["url"].startswith("https://oidc.eks.us-east-1.amazonaws.com/id/")


def test_every_aws_resource_uses_the_explicit_regional_provider(eks: Render) -> None:
    (provider,) = eks.within(EKS_CLUSTER, "pulumi:providers:aws")
    assert provider["inputs"]["region"] == "us-east-1"
    assert json.loads(provider["inputs"]["defaultTags"])["tags"]["helpline-stack"] == eks.stack
    aws_resources = [r for r in eks.within(EKS_CLUSTER) if r["type"].startswith("aws:")]
    assert aws_resources
    assert {r["provider"].split("::")[0] for r in aws_resources} == {provider["name"]}


def test_the_kubeconfig_reaches_the_kubernetes_provider_only_as_a_secret(eks: Render) -> None:
    (provider,) = eks.of_type("pulumi:providers:kubernetes")
    assert provider["secretInputs"] == ["kubeconfig"]
    assert provider["inputs"]["kubeconfig"] == "[secret]"


# --- nodes --------------------------------------------------------------------------------------------------
def test_gpu_nodes_run_the_nvidia_al2023_ami_tainted_and_labelled(eks: Render) -> None:
    gpu = node_groups(eks)["gpu"]
    assert gpu["amiType"] == "AL2023_x86_64_NVIDIA"
    assert gpu["taints"] == [{"key": GPU_TAINT_KEY, "value": "present", "effect": "NO_SCHEDULE"}]
    assert gpu["labels"][POOL_LABEL] == "gpu"
    assert gpu["labels"]["k8s.amazonaws.com/accelerator"] == config_of(eks.stack).gpu_type
    assert gpu["instanceTypes"] == [config_of(eks.stack).aws_gpu_instance_type]
    assert len(gpu["subnetIds"]) == len(ZONES[eks.stack])


def test_gpu_capacity_and_minimum_follow_the_environment(eks: Render) -> None:
    gpu = node_groups(eks)["gpu"]
    scaling = gpu["scalingConfig"]
    if eks.stack == "prod":
        assert gpu["capacityType"] == "ON_DEMAND"
        assert scaling["minSize"] >= 2
    else:
        assert gpu["capacityType"] == "SPOT"
        assert scaling["minSize"] == 0
    assert scaling["maxSize"] == config_of(eks.stack).gpu_pool_max_nodes


def test_system_nodes_are_one_labelled_group_per_zone(eks: Render) -> None:
    groups = {name: g for name, g in node_groups(eks).items() if g["labels"][POOL_LABEL] == "system"}
    assert sorted(groups) == [f"system-{zone}" for zone in ZONES[eks.stack]]
    assert all(g["amiType"] == "AL2023_x86_64_STANDARD" and g["capacityType"] == "ON_DEMAND" for g in groups.values())
    assert all(not g["taints"] for g in groups.values())
    assert sum(g["scalingConfig"]["minSize"] for g in groups.values()) == config_of(eks.stack).system_pool_min_nodes
    assert sum(g["scalingConfig"]["maxSize"] for g in groups.values()) == config_of(eks.stack).system_pool_max_nodes


def test_nodes_require_imdsv2_and_boot_from_encrypted_volumes(eks: Render) -> None:
    templates = [r["inputs"] for r in eks.of_type("aws:ec2/launchTemplate:LaunchTemplate")]
    assert len(templates) == 2
    for template in templates:
        metadata = template["metadataOptions"]
        assert (metadata["httpTokens"], metadata["httpPutResponseHopLimit"]) == ("required", 1)
        (root,) = template["blockDeviceMappings"]
        assert (root["ebs"]["encrypted"], root["ebs"]["volumeType"]) == ("true", "gp3")
    assert all(g["launchTemplate"]["id"] for g in node_groups(eks).values())


def test_node_groups_wait_for_the_cni_and_egress(eks: Render) -> None:
    for group in eks.of_type("aws:eks/nodeGroup:NodeGroup"):
        assert any("vpc-cni" in dependency for dependency in group["dependsOn"]), group["name"]
        assert any(dependency.startswith("aws:ec2/natGateway:NatGateway") for dependency in group["dependsOn"])


# --- autoscaling --------------------------------------------------------------------------------------------
def test_the_cluster_autoscaler_discovers_this_clusters_groups_and_balances_zones(eks: Render) -> None:
    release = eks.helm_releases["cluster-autoscaler"]
    assert release["repositoryOpts"]["repo"] == "https://kubernetes.github.io/autoscaler"
    assert release["version"] == "9.59.0"
    values = release["values"]
    name = f"helpline-{eks.stack}-eks"
    assert values["autoDiscovery"] == {
        "clusterName": name,
        "tags": ["k8s.io/cluster-autoscaler/enabled", f"k8s.io/cluster-autoscaler/{name}"],
    }
    assert values["extraArgs"]["balance-similar-node-groups"] is True
    assert values["extraArgs"]["expander"] == "least-waste"
    assert values["image"]["tag"] == "v1.34.5"
    role = role_named(eks, f"helpline-{eks.stack}-cluster-autoscaler")
    assert values["rbac"]["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"].endswith(
        f":role/helpline-{eks.stack}-cluster-autoscaler"
    )
    assert trust_subjects(role) == ["system:serviceaccount:kube-system:cluster-autoscaler"]


def test_the_autoscaler_may_resize_only_asgs_owned_by_this_cluster(eks: Render) -> None:
    role = role_named(eks, f"helpline-{eks.stack}-cluster-autoscaler")
    (policy,) = inline_policies(eks, role)
    statements = json.loads(policy["policy"])["Statement"]
    mutating = [s for s in statements if "autoscaling:SetDesiredCapacity" in s["Action"]]
    assert len(mutating) == 1
    assert mutating[0]["Condition"] == {
        "StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/helpline-{eks.stack}-eks": "owned"}
    }
    others = [s for s in statements if s is not mutating[0]]
    assert not any(
        "Set" in a or "Terminate" in a
        for s in others
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    )


def test_the_gpu_asg_carries_the_node_template_tags_for_scale_from_zero(eks: Render) -> None:
    tags = [r["inputs"] for r in eks.of_type("aws:autoscaling/tag:Tag")]
    gpu_asg = "eks-gpu-"
    on_gpu = {t["tag"]["key"]: t["tag"]["value"] for t in tags if t["autoscalingGroupName"].startswith(gpu_asg)}
    prefix = "k8s.io/cluster-autoscaler/node-template"
    assert on_gpu == {
        f"{prefix}/label/{POOL_LABEL}": "gpu",
        f"{prefix}/label/k8s.amazonaws.com/accelerator": config_of(eks.stack).gpu_type,
        f"{prefix}/taint/{GPU_TAINT_KEY}": "present:NoSchedule",
        f"{prefix}/resources/nvidia.com/gpu": "1",
    }
    assert all(t["tag"]["propagateAtLaunch"] is False for t in tags)
    system_asgs = {t["autoscalingGroupName"] for t in tags if "-system-" in t["autoscalingGroupName"]}
    assert len(system_asgs) == len(ZONES[eks.stack])


# --- add-ons and storage ------------------------------------------------------------------------------------
def test_managed_addons_with_irsa_roles_for_those_that_call_aws(eks: Render) -> None:
    installed = addons(eks)
    assert set(installed) == {"vpc-cni", "kube-proxy", "coredns", "aws-ebs-csi-driver", "aws-efs-csi-driver"}
    assert json.loads(installed["vpc-cni"]["configurationValues"]) == {"enableNetworkPolicy": "true"}
    expected_accounts = {
        "vpc-cni": ["system:serviceaccount:kube-system:aws-node"],
        "aws-ebs-csi-driver": ["system:serviceaccount:kube-system:ebs-csi-controller-sa"],
        "aws-efs-csi-driver": [
            "system:serviceaccount:kube-system:efs-csi-controller-sa",
            "system:serviceaccount:kube-system:efs-csi-node-sa",
        ],
    }
    for addon, accounts in expected_accounts.items():
        role_name = f"helpline-{eks.stack}-{addon}"
        assert installed[addon]["serviceAccountRoleArn"].endswith(f":role/{role_name}")
        assert trust_subjects(role_named(eks, role_name)) == accounts
    assert all("serviceAccountRoleArn" not in installed[a] for a in ("kube-proxy", "coredns"))


def test_csi_and_dns_addons_wait_for_nodes(eks: Render) -> None:
    for addon in eks.of_type("aws:eks/addon:Addon"):
        waits_for_nodes = any(d.startswith("aws:eks/nodeGroup:NodeGroup") for d in addon["dependsOn"])
        assert waits_for_nodes is (addon["inputs"]["addonName"] not in ("vpc-cni", "kube-proxy")), addon["name"]


def test_block_storage_class_is_the_encrypted_gp3_default(eks: Render) -> None:
    gp3 = eks.object("StorageClass", "gp3")
    assert gp3["metadata"]["annotations"] == {"storageclass.kubernetes.io/is-default-class": "true"}
    assert gp3["provisioner"] == "ebs.csi.aws.com"
    assert gp3["parameters"]["type"] == "gp3"
    assert gp3["parameters"]["encrypted"] == "true"
    assert gp3["parameters"]["kmsKeyId"] == cluster(eks)["encryptionConfig"]["provider"]["keyArn"]
    assert gp3["volumeBindingMode"] == "WaitForFirstConsumer"
    assert gp3["reclaimPolicy"] == ("Retain" if eks.stack == "prod" else "Delete")


def test_model_cache_is_read_write_many_on_encrypted_efs_reachable_only_from_the_cluster(eks: Render) -> None:
    model_cache = eks.object("StorageClass", MODEL_CACHE_STORAGE_CLASS)
    assert model_cache["provisioner"] == "efs.csi.aws.com"
    assert model_cache["parameters"]["provisioningMode"] == "efs-ap"
    file_system = eks.one("aws:efs/fileSystem:FileSystem")
    assert model_cache["parameters"]["fileSystemId"].startswith(file_system["name"])
    assert file_system["inputs"]["encrypted"] is True
    assert file_system["inputs"]["kmsKeyId"].startswith("arn:aws:kms:")
    mount_targets = [r["inputs"] for r in eks.of_type("aws:efs/mountTarget:MountTarget")]
    assert len(mount_targets) == len(ZONES[eks.stack])
    (nfs,) = [r["inputs"] for r in eks.within(EKS_CLUSTER, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")]
    assert (nfs["ipProtocol"], nfs["fromPort"], nfs["toPort"]) == ("tcp", 2049, 2049)
    assert nfs["referencedSecurityGroupId"].startswith("sg-")
    assert "cidrIpv4" not in nfs
    policy = json.loads(eks.one("aws:efs/fileSystemPolicy:FileSystemPolicy")["inputs"]["policy"])
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["Statement"]
    )


# --- model bucket -------------------------------------------------------------------------------------------
def test_the_model_bucket_is_private_kms_encrypted_versioned_and_tls_only(eks: Render) -> None:
    public_access = eks.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")["inputs"]
    assert all(
        public_access[flag] is True
        for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    (rule,) = eks.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")[
        "inputs"
    ]["rules"]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    assert rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"].startswith("arn:aws:kms:")
    versioning = eks.one("aws:s3/bucketVersioning:BucketVersioning")["inputs"]
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    ownership = eks.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls")["inputs"]
    assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    (deny,) = json.loads(eks.one("aws:s3/bucketPolicy:BucketPolicy")["inputs"]["policy"])["Statement"]
    assert (deny["Effect"], deny["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": "false"}})
    assert eks.one("aws:s3/bucket:Bucket")["inputs"]["forceDestroy"] is (eks.stack == "dev")


def test_only_the_model_loader_service_account_can_read_the_bucket(eks: Render) -> None:
    reader = role_named(eks, f"helpline-{eks.stack}-model-reader")
    assert trust_subjects(reader) == [f"system:serviceaccount:helpline-{eks.stack}-serving:model-loader"]
    (policy,) = inline_policies(eks, reader)
    statements = json.loads(policy["policy"])["Statement"]
    granted = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert granted == {"s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "s3:GetObjectVersion", "kms:Decrypt"}


# --- ingress plumbing ---------------------------------------------------------------------------------------
def test_the_load_balancer_controller_is_pinned_and_runs_with_its_published_policy(eks: Render) -> None:
    release = eks.helm_releases["aws-load-balancer-controller"]
    assert release["repositoryOpts"]["repo"] == "https://aws.github.io/eks-charts"
    assert release["version"] == "3.5.0"
    values = release["values"]
    assert values["clusterName"] == f"helpline-{eks.stack}-eks"
    assert values["region"] == "us-east-1"
    assert values["vpcId"] == eks.one("aws:ec2/vpc:Vpc")["name"] + "-" + values["vpcId"].rsplit("-", 1)[1]
    role = role_named(eks, f"helpline-{eks.stack}-load-balancer-controller")
    assert trust_subjects(role) == ["system:serviceaccount:kube-system:aws-load-balancer-controller"]
    (policy,) = inline_policies(eks, role)
    published = to_json(load_balancer_controller_policy("aws"))
    assert policy["policy"] == f"<{len(published)} chars, sha256:{hashlib.sha256(published.encode()).hexdigest()[:16]}>"


def test_controllers_run_on_system_nodes_after_nodes_and_dns(eks: Render) -> None:
    mine = [r for r in eks.of_type("kubernetes:helm.sh/v3:Release") if r["name"] in CLUSTER_RELEASES]
    assert len(mine) == len(CLUSTER_RELEASES)
    for release in mine:
        values = eks.helm_releases[release["name"]]["values"]
        assert values["nodeSelector"] == {POOL_LABEL: "system"}
        assert any(d.startswith("aws:eks/nodeGroup:NodeGroup") for d in release["dependsOn"])
        assert any(d.endswith("-coredns") for d in release["dependsOn"])
