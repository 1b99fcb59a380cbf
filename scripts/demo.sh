#!/usr/bin/env bash
# End-to-end demo of `contrast generate` on this machine, without internet:
#   1. starts a private registry lab (Debian's docker-registry) with its own state dir and ports,
#   2. pushes small sample images: the two workloads, Contrast's Coordinator / Initializer /
#      service-mesh images and the pause image, as an air-gapped cluster's mirror would hold them,
#   3. runs `contrast generate` on a copy of examples/ (a Coordinator StatefulSet, a workload with a
#      service-mesh annotation, one with a ConfigMap), resolving every image through a registries.conf
#      mirror,
#   4. shows manifest.json, the patched YAML, a second run changing nothing, and `contrast policy eval`
#      judging requests against a generated policy,
#   5. stops the registries it started (DEMO_KEEP=1 keeps them and the files).
#
# Usage: npm ci && npm run build && bash scripts/demo.sh
# Knobs: DEMO_DIR (default /tmp/contrast-demo.<uid>), DEMO_PORT (first of 4 ports, default 5210),
#        DEMO_PLATFORM (default Metal-QEMU-SNP), DEMO_KEEP=1.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEMO_DIR=${DEMO_DIR:-${TMPDIR:-/tmp}/contrast-demo.$(id -u)}
PORT=${DEMO_PORT:-5210}
PLATFORM=${DEMO_PLATFORM:-Metal-QEMU-SNP}
LAB=$ROOT/test/lab/lab.sh

# The lab gets its own state and ports so it never collides with the test lab (5000-5003).
export LAB_STATE=$DEMO_DIR/lab
export LAB_PORT_A=$PORT LAB_PORT_B=$((PORT + 1)) LAB_PORT_C=$((PORT + 2)) LAB_PORT_TOKEN=$((PORT + 3))
REG=127.0.0.1:$LAB_PORT_A

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

for tool in node docker-registry skopeo umoci openssl htpasswd curl jq; do
  command -v "$tool" >/dev/null || die "missing $tool (apt-get install -y docker-registry skopeo umoci apache2-utils openssl curl jq)"
done
if [[ -f $ROOT/dist/cli/main.cjs ]]; then
  CONTRAST=(node "$ROOT/bin/contrast.js")
else
  echo "demo: dist/ not built (npm run build); running from source through tsx" >&2
  CONTRAST=(node --import "file://$ROOT/node_modules/tsx/dist/loader.mjs" "$ROOT/src/cli/main.ts")
fi
contrast() { (cd "$DEMO_DIR" && "${CONTRAST[@]}" "$@"); }

stop_lab() {
  if [[ -z ${DEMO_KEEP:-} ]]; then bash "$LAB" down >/dev/null 2>&1 || true; fi
}
trap stop_lab EXIT

mkdir -p "$DEMO_DIR"
bold "1. private registry on $REG (state: $LAB_STATE)"
bash "$LAB" up 2>&1 | sed 's/^/   /'
bash "$LAB" seed >/dev/null 2>&1 || die "seeding the lab failed: run LAB_STATE=$LAB_STATE bash $LAB seed"

bold "2. sample images (what an air-gapped mirror holds)"
export CONTAINERS_REGISTRIES_CONF=$ROOT/test/lab/config/registries.conf
copy() { # src dst [--all]
  skopeo --policy "$ROOT/test/lab/config/policy.json" copy -q --src-tls-verify=false --dest-tls-verify=false "${@:3}" \
    "docker://$REG/$1" "docker://$REG/$2"
  printf '   %-48s %s\n' "$REG/$2" "$(skopeo inspect --tls-verify=false --raw "docker://$REG/$2" | sha256sum | cut -c1-19)…"
}
copy test/app:v1 demo/web:v1
copy test/app:v1-docker demo/api:v1
copy test/app:v1 edgelesssys/contrast/coordinator:latest
copy test/multi:v1 edgelesssys/contrast/initializer:latest --all
copy test/app:v1 edgelesssys/contrast/service-mesh-proxy:latest
copy test/app:v1 edgelesssys/kubernetes/pause:3.6

cat >"$DEMO_DIR/registries.conf" <<CONF
# Air-gapped mirror: the YAML keeps the public names, every pull goes to the private registry.
[[registry]]
prefix = "registry.example.com"
location = "registry.example.com"
[[registry.mirror]]
location = "$REG"
insecure = true

[[registry]]
prefix = "ghcr.io/edgelesssys"
location = "ghcr.io/edgelesssys"
[[registry.mirror]]
location = "$REG/edgelesssys"
insecure = true
CONF
echo "   mirror config: $DEMO_DIR/registries.conf"

# generate writes what one Contrast release has (runtime handler, image pins, reference values). This
# demo has no real release at hand, so it uses a FIXTURE release (test/fixtures/releases/fixture-2026:
# shaped like a real one, every hash and measurement made up), its image pins pointed at the sample
# images above.
REL=$DEMO_DIR/FIXTURE-release-2026
rm -rf "$REL" && cp -r "$ROOT/test/fixtures/releases/fixture-2026" "$REL"
for name in coordinator initializer service-mesh-proxy; do
  d=$(skopeo inspect --tls-verify=false --raw "docker://$REG/edgelesssys/contrast/$name:latest" | sha256sum | cut -d' ' -f1)
  sed -i -E "s#^(ghcr\.io/edgelesssys/contrast/$name:latest=[^@]+)@sha256:[0-9a-f]{64}#\1@sha256:$d#" "$REL/image-replacements.txt"
done

bold "3. contrast generate --contrast-release FIXTURE-release-2026 --reference-values $PLATFORM deploy/"
rm -rf "$DEMO_DIR/deploy" "$DEMO_DIR/rules.rego" "$DEMO_DIR/settings.json" "$DEMO_DIR/manifest.json" "$DEMO_DIR/workload-owner.pem" "$DEMO_DIR/seedshare-owner.pem" "$DEMO_DIR/layers-cache.json" "$DEMO_DIR/contrast-release.json"
mkdir -p "$DEMO_DIR/deploy"
cp "$ROOT"/examples/*.yml "$DEMO_DIR/deploy/"
contrast generate --contrast-release "$REL" --reference-values "$PLATFORM" --registries-conf registries.conf --no-progress deploy/
echo "   the workspace now targets that release (contrast --version):"
contrast --version | sed 's/^/     /' | head -4

bold "4. manifest.json (reference values abbreviated)"
jq '.ReferenceValues |= with_entries(.value |= map({Platform, ProductName, TrustedMeasurement, MinimumTCB} | with_entries(select(.value != null))))' \
  "$DEMO_DIR/manifest.json"
ls -l "$DEMO_DIR"/workload-owner.pem "$DEMO_DIR"/seedshare-owner.pem | awk '{print "   " $1, $NF}'

bold "5. what generate changed in web.yml (long annotation values cut)"
diff -u "$ROOT/examples/web.yml" "$DEMO_DIR/deploy/web.yml" | cut -c1-150 | sed 's/^/   /' || true

bold "6. second run (release taken from contrast-release.json): nothing changes"
before=$(cat "$DEMO_DIR"/deploy/*.yml "$DEMO_DIR/manifest.json" | sha256sum)
contrast generate --reference-values "$PLATFORM" --registries-conf registries.conf --no-progress deploy/ >/dev/null 2>&1
after=$(cat "$DEMO_DIR"/deploy/*.yml "$DEMO_DIR/manifest.json" | sha256sum)
[[ $before == "$after" ]] && echo "   identical files (sha256 ${after:0:16}…)" || die "second run changed the output"

bold "7. contrast policy eval: requests the web pod's agent would get"
# A container file copy the runtime makes (allowed), the same with a path escape, a shell exec the
# pod never asked for, and an attempt to swap the policy: the generated policy decides each one.
B=$(printf '%064d' 0 | tr 0 a)
cat >"$DEMO_DIR/requests.log" <<LOG
["CopyFileRequest", {"path": "/run/kata-containers/shared/containers/$B-0123456789abcdef-resolv.conf"}]
["CopyFileRequest", {"path": "/run/kata-containers/shared/containers/$B-0123456789abcdef-../../../../etc/shadow"}]
["ExecProcessRequest", {"container_id": "$B", "exec_id": "e1", "process": {"Args": ["/bin/sh"]}}]
["SetPolicyRequest", {"policy": "package agent_policy\\ndefault ExecProcessRequest := true"}]
LOG
echo "   \$ contrast policy eval --policy deploy/web.yml --workload Deployment/web --replay requests.log"
contrast policy eval --policy deploy/web.yml --workload Deployment/web --replay requests.log 2>&1 | cut -c1-150 | sed 's/^/   /' || true

bold "done"
echo "   files in $DEMO_DIR (registries stop now; DEMO_KEEP=1 keeps them running)"
