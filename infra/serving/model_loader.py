"""Fill the shared model cache with one pinned revision, then write its completion marker.

This file is shipped verbatim in a ConfigMap and run by the model-loader Job inside the vLLM image, which
already carries ``huggingface_hub`` (+ ``hf_transfer``), ``boto3`` and ``google-cloud-storage`` (vLLM's
runai-model-streamer extras). It imports only the standard library at module level so the Pulumi program and
the tests can load it without those packages.

Order of sources: the stack's model bucket when it holds a mirror of the revision (read with workload
identity, no Hub egress needed), else the Hugging Face Hub (the token from a mounted Secret, through
``HF_TOKEN_PATH``, when the model is gated). Files land where ``huggingface_hub`` looks for them offline
(``$HF_HOME/hub/models--<org>--<name>/snapshots/<revision>/``), so the engine starts with ``HF_HUB_OFFLINE=1``
and ``--revision <sha>``. The marker is written last and atomically: an engine never sees half a model.

Bucket mirror layout: ``<bucket>/<prefix>/<org>/<name>/<revision>/<files>``, e.g. filled with
``hf download Qwen/Qwen2.5-7B-Instruct-AWQ --revision <sha> --local-dir d && aws s3 sync d s3://<bucket>/hf/...``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

LOG = logging.getLogger("model-loader")
WEIGHT_SUFFIXES = (".safetensors", ".bin")
#: Files the engine never reads; skipping them saves cache space and download time.
IGNORED_PATTERNS = ("*.pth", "*.pt", "*.gguf", "*.onnx", "original/*")


def repo_folder(model_id: str) -> str:
    """``Qwen/Qwen2.5-7B`` -> ``models--Qwen--Qwen2.5-7B``, huggingface_hub's cache folder name."""
    return "models--" + model_id.replace("/", "--")


def snapshot_dir(hf_home: Path, model_id: str, revision: str) -> Path:
    return hf_home / "hub" / repo_folder(model_id) / "snapshots" / revision


def marker_path(hf_home: Path, model_id: str, revision: str) -> Path:
    """The completion marker the engine waits for; one per (model, revision)."""
    return hf_home / ".ready" / f"{repo_folder(model_id)}@{revision}.json"


class Source(Protocol):
    """Where a revision's files come from."""

    name: str

    def fetch(self, destination: Path) -> bool:
        """Download every file into ``destination``; False when this source does not hold the revision."""
        ...


@dataclass
class BucketSource:
    """A mirror in the stack's model bucket (``s3://`` or ``gs://``), read with the pod's workload identity."""

    uri: str
    prefix: str
    model_id: str
    revision: str
    name: str = "bucket"

    @property
    def key_prefix(self) -> str:
        parts = [self.prefix.strip("/"), self.model_id, self.revision]
        return "/".join(part for part in parts if part) + "/"

    def fetch(self, destination: Path) -> bool:
        scheme, _, bucket = self.uri.partition("://")
        bucket = bucket.strip("/")
        listing, download = _bucket_client(scheme, bucket)
        keys = [key for key in listing(self.key_prefix) if not key.endswith("/")]
        if not keys:
            LOG.info("no mirror at %s/%s", self.uri, self.key_prefix)
            return False
        for key in keys:
            target = destination / key[len(self.key_prefix) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            download(key, target)
        LOG.info("copied %d files from %s/%s", len(keys), self.uri, self.key_prefix)
        return True


Listing = Callable[[str], Iterable[str]]
Download = Callable[[str, Path], None]


def _bucket_client(scheme: str, bucket: str) -> tuple[Listing, Download]:
    """List and download functions for one bucket; the SDKs find IRSA / GKE Workload Identity credentials."""
    if scheme == "s3":
        import boto3  # noqa: PLC0415  # type: ignore[import-not-found]  (in the vLLM image only)

        s3: Any = boto3.client("s3")

        def list_s3(prefix: str) -> Iterable[str]:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield item["Key"]

        return list_s3, lambda key, target: s3.download_file(bucket, key, str(target))
    if scheme == "gs":
        from google.cloud import storage  # noqa: PLC0415  # type: ignore[import-not-found]

        gcs: Any = storage.Client().bucket(bucket)
        return (
            lambda prefix: (blob.name for blob in gcs.list_blobs(prefix=prefix)),
            lambda key, target: gcs.blob(key).download_to_filename(str(target)),
        )
    raise ValueError(f"unsupported bucket URI scheme {scheme!r} (expected s3 or gs)")


@dataclass
class HubSource:
    """The Hugging Face Hub, at the pinned commit; the token (if any) from ``HF_TOKEN_PATH``, a mounted Secret."""

    model_id: str
    revision: str
    name: str = "hub"

    def fetch(self, destination: Path) -> bool:
        from huggingface_hub import snapshot_download  # noqa: PLC0415  # type: ignore[import-not-found]

        snapshot_download(
            repo_id=self.model_id,
            revision=self.revision,
            local_dir=str(destination),
            ignore_patterns=list(IGNORED_PATTERNS),
            # None: huggingface_hub finds the token itself (HF_TOKEN, else the file at HF_TOKEN_PATH).
            token=None,
        )
        return True


def verify_snapshot(directory: Path) -> dict[str, int]:
    """Refuse a snapshot vLLM could not start from: it needs config.json and at least one weights file."""
    files = [path for path in directory.rglob("*") if path.is_file() and ".cache" not in path.parts]
    if not (directory / "config.json").is_file():
        raise RuntimeError(f"{directory} has no config.json")
    if not any(path.name.endswith(WEIGHT_SUFFIXES) for path in files):
        raise RuntimeError(f"{directory} has no weights ({', '.join(WEIGHT_SUFFIXES)})")
    return {"files": len(files), "bytes": sum(path.stat().st_size for path in files)}


def write_marker(marker: Path, payload: dict[str, Any]) -> None:
    """Write atomically (temp file + rename) so a reader sees either nothing or the whole marker."""
    marker.parent.mkdir(parents=True, exist_ok=True)
    temporary = marker.with_suffix(".tmp")
    temporary.write_text(json.dumps(payload, sort_keys=True))
    os.replace(temporary, marker)


def load(hf_home: Path, model_id: str, revision: str, sources: list[Source]) -> Path:
    """Make ``(model_id, revision)`` complete in the cache from the first source holding it; returns the marker."""
    marker = marker_path(hf_home, model_id, revision)
    if marker.is_file():
        LOG.info("%s@%s already complete (%s)", model_id, revision, marker)
        return marker
    destination = snapshot_dir(hf_home, model_id, revision)
    destination.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    for source in sources:
        if source.fetch(destination):
            stats = verify_snapshot(destination)
            write_marker(
                marker,
                {
                    "model_id": model_id,
                    "revision": revision,
                    "source": source.name,
                    "seconds": round(time.monotonic() - started, 1),
                    **stats,
                },
            )
            LOG.info("%s@%s complete from %s: %s", model_id, revision, source.name, stats)
            return marker
    raise RuntimeError(f"no source holds {model_id}@{revision}")


def sources_for(model_id: str, revision: str, bucket_uri: str, bucket_prefix: str) -> list[Source]:
    sources: list[Source] = []
    if bucket_uri:
        sources.append(BucketSource(bucket_uri, bucket_prefix, model_id, revision))
    sources.append(HubSource(model_id, revision))
    return sources


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fill the shared model cache with one pinned revision.")
    parser.add_argument("--model-id", required=True)
    parser.add_argument("--revision", required=True)
    parser.add_argument("--hf-home", type=Path, default=Path(os.environ.get("HF_HOME", "/models")))
    parser.add_argument("--bucket-uri", default=os.environ.get("MODEL_BUCKET_URI", ""))
    parser.add_argument("--bucket-prefix", default="hf")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        load(
            args.hf_home,
            args.model_id,
            args.revision,
            sources_for(args.model_id, args.revision, args.bucket_uri, args.bucket_prefix),
        )
    except Exception:
        LOG.exception("loading %s@%s failed", args.model_id, args.revision)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
