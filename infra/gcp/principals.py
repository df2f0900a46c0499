"""IAM members this stack grants roles to, spelled once (a typo here would grant a role to nobody, silently)."""

from __future__ import annotations

from infra.cluster import ServiceAccountRef


def workload_pool(project: str) -> str:
    """The Workload Identity pool of every GKE cluster in ``project``."""
    return f"{project}.svc.id.goog"


def workload_identity_member(project: str, account: ServiceAccountRef) -> str:
    """The member that is exactly one Kubernetes service account, in one namespace, of clusters in ``project``."""
    return f"serviceAccount:{workload_pool(project)}[{account.namespace}/{account.name}]"


def service_agent(project_number: str, agent_domain: str) -> str:
    """A Google-managed service agent of the project: ``service-<number>@<agent domain>``."""
    return f"serviceAccount:service-{project_number}@{agent_domain}"


def gke_service_agent(project_number: str) -> str:
    """GKE's own service agent: it encrypts and decrypts Kubernetes Secrets with our KMS key."""
    return service_agent(project_number, "container-engine-robot.iam.gserviceaccount.com")


def compute_service_agent(project_number: str) -> str:
    """Compute Engine's service agent: it encrypts node boot disks and persistent volumes with our KMS key."""
    return service_agent(project_number, "compute-system.iam.gserviceaccount.com")


def cloud_sql_service_agent(project_number: str) -> str:
    """Cloud SQL's service agent: it encrypts the instance's disks and backups with our KMS key."""
    return service_agent(project_number, "gcp-sa-cloud-sql.iam.gserviceaccount.com")


def memorystore_service_agent(project_number: str) -> str:
    """Memorystore's service agent: it encrypts the instance's data with our KMS key."""
    return service_agent(project_number, "cloud-redis.iam.gserviceaccount.com")
