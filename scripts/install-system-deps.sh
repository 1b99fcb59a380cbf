#!/usr/bin/env bash
# Installs the Debian packages the demo and the tests use, when missing: the CNCF distribution
# registry, skopeo and umoci (to build and push sample images), veritysetup (dm-verity cross-checks),
# zstd (fast zstd layer decoding), htpasswd/openssl/curl/jq (the registry lab).
set -euo pipefail

missing=()
for pkg_bin in docker-registry:docker-registry skopeo:skopeo umoci:umoci cryptsetup-bin:veritysetup \
  apache2-utils:htpasswd openssl:openssl curl:curl jq:jq zstd:zstd; do
  command -v "${pkg_bin#*:}" >/dev/null 2>&1 || missing+=("${pkg_bin%%:*}")
done
((${#missing[@]})) || exit 0

sudo=()
[[ $(id -u) == 0 ]] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
