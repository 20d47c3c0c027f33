#!/usr/bin/env bash
# Build a scratch engine image from a patched copy of the engine sources, for the explorer's proof runs:
#   compose/build-mutant.sh SRC_DIR TAG [BASE_TAG]
# SRC_DIR holds solat_engine/ (a patched copy of engine/solat_engine). The image solat-lab/engine:TAG is the
# engine image solat-lab/engine:BASE_TAG (default: LAB_IMAGE_TAG or dev) with SRC_DIR/solat_engine laid over
# the installed package; solat-lab/broker:TAG is the base broker image under the new tag (same image id), so a
# lab with LAB_IMAGE_TAG=TAG runs the mutant engine beside the usual broker. No network (docker build
# --network none); everything carries the lab's label, and `docker rmi` of both tags removes them.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# -ge 2 ] || { echo "usage: $0 SRC_DIR TAG [BASE_TAG]" >&2; exit 2; }
SRC=$1 TAG=$2 BASE=${3:-${LAB_IMAGE_TAG:-dev}}
[ -d "$SRC/solat_engine" ] || { echo "build-mutant: $SRC has no solat_engine/" >&2; exit 2; }
[ "$TAG" != "$BASE" ] || { echo "build-mutant: TAG must differ from BASE_TAG ($BASE)" >&2; exit 2; }
export DOCKER_BUILDKIT=0
docker image inspect "solat-lab/engine:$BASE" >/dev/null 2>&1 || { echo "build-mutant: no solat-lab/engine:$BASE (make images)" >&2; exit 1; }
# The Dockerfile stays outside SRC: SRC may be the repository's own engine/ (the self-test's clean variant).
docker build --network none --quiet --label io.solat-lab.project=solat-lab --label io.solat-lab.mutant="$TAG" \
  -f "$ROOT/compose/images/mutant/Dockerfile" \
  --build-arg "ENGINE_IMAGE=solat-lab/engine:$BASE" -t "solat-lab/engine:$TAG" "$SRC" >/dev/null
docker tag "solat-lab/broker:$BASE" "solat-lab/broker:$TAG"
echo "solat-lab/engine:$TAG"
