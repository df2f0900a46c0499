"""Customer-managed encryption keys: one for Kubernetes Secrets in etcd, one for data on disks.

Two keys because they protect different things and are granted to different service agents: GKE's agent may
only use the secrets key, Compute Engine's agent (node boot disks, persistent volumes) only the data key; the
data tier reuses the data key for Cloud SQL and Memorystore (``enable_service_with_key_access``). Both rotate every 90 days. Key rings and keys
cannot be deleted in GCP, so the ring name carries a random suffix (a destroyed dev stack can be recreated),
and in prod both are protected from ``pulumi destroy``: losing the secrets key makes etcd unreadable.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp
import pulumi_random as random

from infra.gcp.names import kms_crypto_key_id, kms_key_ring_id
from infra.gcp.options import child_options
from infra.gcp.principals import compute_service_agent, gke_service_agent
from infra.naming import Naming

ROTATION_PERIOD = "7776000s"  # 90 days
ENCRYPTER_DECRYPTER = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
SECRETS_KEY = "gke-secrets"
DATA_KEY = "data"


class EncryptionKeys(pulumi.ComponentResource):
    """The key ring, both keys, and each service agent's grant on its key."""

    def __init__(
        self,
        name: str,
        *,
        naming: Naming,
        project: str,
        project_number: str,
        region: str,
        protect: bool,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("helpline:gcp:EncryptionKeys", name, None, opts)
        child = child_options(self, opts)
        kept = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=protect))
        suffix = random.RandomId(f"{name}-ring-suffix", byte_length=2, opts=child)
        ring = gcp.kms.KeyRing(
            f"{name}-ring",
            name=suffix.hex.apply(lambda hex_suffix: f"{naming.prefix}-{hex_suffix}"),
            location=region,
            opts=kept,
        )
        # Ids are spelled from the names (not read from ``.id``) so that the offline render shows real ids;
        # reading the names keeps the dependency on the resources.
        ring_id = ring.name.apply(lambda ring_name: kms_key_ring_id(project, region, ring_name))
        keys: dict[str, gcp.kms.CryptoKey] = {
            key: gcp.kms.CryptoKey(
                f"{name}-{key}",
                name=key,
                key_ring=ring_id,
                purpose="ENCRYPT_DECRYPT",
                rotation_period=ROTATION_PERIOD,
                version_template=gcp.kms.CryptoKeyVersionTemplateArgs(
                    algorithm="GOOGLE_SYMMETRIC_ENCRYPTION", protection_level="SOFTWARE"
                ),
                opts=kept,
            )
            for key in (SECRETS_KEY, DATA_KEY)
        }

        def key_id(key: str) -> pulumi.Output[str]:
            return pulumi.Output.all(ring_id, keys[key].name).apply(lambda ids: kms_crypto_key_id(ids[0], ids[1]))

        self.secrets_key_id = key_id(SECRETS_KEY)
        self.data_key_id = key_id(DATA_KEY)
        self.secrets_grant = gcp.kms.CryptoKeyIAMMember(
            f"{name}-{SECRETS_KEY}-gke-agent",
            crypto_key_id=self.secrets_key_id,
            role=ENCRYPTER_DECRYPTER,
            member=gke_service_agent(project_number),
            opts=child,
        )
        self.data_grant = gcp.kms.CryptoKeyIAMMember(
            f"{name}-{DATA_KEY}-compute-agent",
            crypto_key_id=self.data_key_id,
            role=ENCRYPTER_DECRYPTER,
            member=compute_service_agent(project_number),
            opts=child,
        )
        self.register_outputs({"secretsKey": self.secrets_key_id, "dataKey": self.data_key_id})


def enable_service_with_key_access(
    name: str,
    *,
    api: str,
    agent: str,
    project: str,
    kms_key_id: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> list[pulumi.Resource]:
    """Enable ``api``, make sure its service agent exists, and let the agent use the KMS key (CMEK needs all three).

    Returns what the encrypted resource must wait for.
    """
    service = gcp.projects.Service(
        f"{name}-api",
        project=project,
        service=api,
        disable_on_destroy=False,
        disable_dependent_services=False,
        opts=opts,
    )
    after_api = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[service]))
    identity = gcp.projects.ServiceIdentity(f"{name}-agent", project=project, service=api, opts=after_api)
    grant = gcp.kms.CryptoKeyIAMMember(
        f"{name}-key-user",
        crypto_key_id=kms_key_id,
        role=ENCRYPTER_DECRYPTER,
        member=agent,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[identity])),
    )
    return [service, identity, grant]
