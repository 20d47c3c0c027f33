#!/usr/bin/env bash
# Build the lab's images with no network inside any image build. Everything that needs the network happens on
# the host first and is cached under .cache/: the Debian root filesystem (debootstrap), the Python wheels (pip),
# the Toxiproxy binaries (go install). An image is rebuilt only when the hash of its inputs changes, so a second
# run with nothing changed takes well under a second. See docs/lab-stack.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${LAB_CACHE_DIR:-$ROOT/.cache}
PY=${LAB_HOST_PYTHON:-$ROOT/.venv/bin/python}
MIRROR=${LAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
TOXIPROXY_VERSION=v2.12.0
PROJECT_LABEL=io.solat-lab.project=solat-lab
INPUTS_LABEL=io.solat-lab.inputs
STAGE_LABEL=io.solat-lab.stage

ROOTFS_IMAGE=solat-lab/rootfs:bookworm
BASE_IMAGE=solat-lab/base:bookworm
SLIM_IMAGE=python:3.11-slim
TOXIPROXY_IMAGE=solat-lab/toxiproxy:${TOXIPROXY_VERSION#v}
# LAB_IMAGE_TAG: a second checkout (or a mutant build) gets its own images beside these.
IMAGE_TAG=${LAB_IMAGE_TAG:-dev}
ENGINE_IMAGE=solat-lab/engine:$IMAGE_TAG
BROKER_IMAGE=solat-lab/broker:$IMAGE_TAG

# The classic builder honours `--network none` for every RUN step and needs no buildx plugin.
export DOCKER_BUILDKIT=0
export PIP_DISABLE_PIP_VERSION_CHECK=1

say() { echo "images: [${SECONDS}s] $*"; }
die() { echo "images: error: $*" >&2; exit 1; }
have_image() { docker image inspect "$1" >/dev/null 2>&1; }
image_label() { docker image inspect -f "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true; }
image_id() { docker image inspect -f '{{.Id}}' "$1"; }

# docker build with no network for any RUN step; its chatter goes to a log shown only on failure.
quiet_build() {
  local name=$1; shift
  docker build --network none --label "$PROJECT_LABEL" "$@" >"$CACHE/build-$name.log" 2>&1 \
    || { tail -n 30 "$CACHE/build-$name.log" >&2; die "docker build of $name failed (log: $CACHE/build-$name.log)"; }
}

# Hash of files (sorted, content + relative path) plus any extra strings: the identity of an image's inputs.
inputs_hash() {
  local extra=$1; shift
  {
    echo "$extra"
    (cd "$ROOT" && find "$@" -type f ! -path '*/__pycache__/*' ! -path '*.egg-info/*' ! -path '*/build/*' \
      ! -name '*.pyc' -print0 | sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -c1-16
}

docker info >/dev/null 2>&1 || die "Docker does not answer; run 'make host' first"
mkdir -p "$CACHE"

# -- base: python:3.11-slim when present, else a debootstrapped Debian bookworm; built once, kept by tag --------
build_base() {
  if have_image "$BASE_IMAGE"; then
    say "$BASE_IMAGE present (kept)"
    return
  fi
  local root_image=$SLIM_IMAGE
  if ! have_image "$SLIM_IMAGE"; then
    root_image=$ROOTFS_IMAGE
    if ! have_image "$ROOTFS_IMAGE"; then
      command -v debootstrap >/dev/null || die "debootstrap is missing; run 'make host' (as root)"
      [ "$(id -u)" -eq 0 ] || die "debootstrap needs root to build the base image"
      local dir="$CACHE/rootfs"
      rm -rf "$dir"
      say "debootstrap bookworm (minbase + python3) from $MIRROR"
      debootstrap --variant=minbase --include=python3,python3-venv bookworm "$dir" "$MIRROR" \
        >"$CACHE/debootstrap.log" 2>&1 || die "debootstrap failed (log: $CACHE/debootstrap.log)"
      rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/usr/share/doc/* \
        "$dir"/usr/share/man/* "$dir"/usr/share/info/* "$dir"/var/log/*.log "$dir"/var/cache/debconf/*-old
      say "importing the root filesystem as $ROOTFS_IMAGE"
      tar --numeric-owner -C "$dir" -c . | docker import \
        --change "LABEL $PROJECT_LABEL" --change 'CMD ["python3"]' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8' \
        - "$ROOTFS_IMAGE" >/dev/null
      rm -rf "$dir"
    fi
  fi
  say "building $BASE_IMAGE from $root_image"
  quiet_build base --build-arg "ROOT_IMAGE=$root_image" \
    -t "$BASE_IMAGE" -f "$ROOT/compose/images/base/Dockerfile" "$ROOT/compose/images/base"
}

# -- wheels: built on the host (pip inside a container cannot verify TLS), installed offline in the images -------
# Per image, two directories in .cache/wheelhouse/<name>/ (for this host's CPython 3.11 on glibc: Debian bookworm,
# the same ABI as the image): deps/ holds every pinned dependency and changes only with pyproject.toml; app/
# holds the project's own wheel and changes with its sources. The Dockerfiles install them in separate layers,
# so a source edit rebuilds only a small layer.
TOOLS="$CACHE/wheelhouse/build-tools"

# setuptools for building our own wheels offline (the venv's is too old to build wheels).
build_tools() {
  compgen -G "$TOOLS/setuptools-*.whl" >/dev/null && return
  say "fetching the wheel build backend"
  PIP_CACHE_DIR="$CACHE/pip" "$PY" -m pip download --quiet --only-binary=:all: --dest "$TOOLS" \
    "setuptools>=68" || die "pip download of setuptools failed"
}

stage_sources() {
  local name=$1 src=$2
  shift 2
  local stage="$CACHE/src/$name"
  rm -rf "$stage"
  mkdir -p "$stage"
  # Build from a copy so no build/ or egg-info appears in the work tree.
  (cd "$src" && tar --exclude=build --exclude='*.egg-info' --exclude=__pycache__ -cf - "$@") | tar -C "$stage" -xf -
}

# build_wheels NAME SRC DEPS_HASH APP_HASH PATHS...: refresh deps/ and app/ when their hash changed.
build_wheels() {
  local name=$1 src=$2 deps_hash=$3 app_hash=$4
  shift 4
  local house="$CACHE/wheelhouse/$name" stage="$CACHE/src/$name"
  local offline=(--no-index --find-links "$TOOLS")
  if [ "$(cat "$house/deps/.inputs" 2>/dev/null)" != "$deps_hash" ]; then
    say "dependency wheels for $name"
    stage_sources "$name" "$src" "$@"
    rm -rf "$house/deps"
    mkdir -p "$house/deps"
    PIP_CACHE_DIR="$CACHE/pip" "$PY" -m pip wheel --quiet --prefer-binary --find-links "$TOOLS" \
      --wheel-dir "$house/deps" "$stage" || die "pip wheel of the dependencies of $name failed"
    echo "$deps_hash" >"$house/deps/.inputs"
  fi
  if [ "$(cat "$house/app/.inputs" 2>/dev/null)" != "$app_hash" ]; then
    say "$name wheel"
    stage_sources "$name" "$src" "$@"
    rm -rf "$house/app"
    mkdir -p "$house/app"
    "$PY" -m pip wheel --quiet --no-deps "${offline[@]}" --wheel-dir "$house/app" "$stage" \
      || die "pip wheel of $name failed"
    echo "$app_hash" >"$house/app/.inputs"
  fi
  # The project's own wheel belongs in app/ only.
  local own
  own=$(basename "$house"/app/*.whl)
  rm -f "$house/deps/${own%%-*}"-*.whl
}

# -- Debian fault tools for the engine image: libfiu (fiu-run/fiu-ctrl: failed syscalls) and libfaketime (a
# per-process wall clock). Downloaded on the host with apt-get (the image build has no network), cached by
# version under $DEBS, copied into the engine's build context and installed there with dpkg. The base image is
# Debian bookworm, as is the host these .debs come from.
DEBS=${LAB_DEB_CACHE:-$ROOT/.cache/debs}
ENGINE_DEBS=(fiu-utils libfiu0 libfaketime)

fetch_debs() {
  local ctx="$CACHE/wheelhouse/engine/debs" pkg version file
  mkdir -p "$DEBS"
  rm -rf "$ctx"
  mkdir -p "$ctx"
  for pkg in "${ENGINE_DEBS[@]}"; do
    file=$(compgen -G "$DEBS/${pkg}_*.deb" | head -n 1 || true)
    if [ -z "$file" ]; then
      command -v apt-get >/dev/null || die "apt-get is needed to download $pkg for the engine image"
      version=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')
      if [ -z "$version" ] || [ "$version" = "(none)" ]; then
        apt-get update -qq >/dev/null 2>&1 || die "apt-get update failed (needed to find $pkg)"
        version=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')
      fi
      [ -n "$version" ] && [ "$version" != "(none)" ] || die "no Debian package $pkg (apt-cache policy)"
      say "apt-get download $pkg=$version"
      (cd "$DEBS" && apt-get download -q "$pkg=$version" >"$CACHE/apt-download-$pkg.log" 2>&1) \
        || die "apt-get download $pkg=$version failed (log: $CACHE/apt-download-$pkg.log)"
      file=$(compgen -G "$DEBS/${pkg}_*.deb" | head -n 1) || die "$pkg .deb missing after download"
    fi
    cp "$file" "$ctx/"
  done
}

# -- an app image: skipped when the image's inputs label matches ------------------------------------------------
build_app() {
  local image=$1 name=$2 hash=$3
  if have_image "$image" && [ "$(image_label "$image" "$INPUTS_LABEL")" = "$hash" ]; then
    say "$image up to date"
    return
  fi
  say "building $image"
  quiet_build "$name" --build-arg "BASE_IMAGE=$BASE_IMAGE" --label "$INPUTS_LABEL=$hash" \
    -t "$image" -f "$ROOT/compose/images/$name/Dockerfile" "$CACHE/wheelhouse/$name"
  # Drop replaced images, but keep the dependency stage: it is the layer cache for the next source edit.
  docker image prune --force --filter "label=$PROJECT_LABEL" --filter "label!=$STAGE_LABEL=deps" >/dev/null
}

# -- toxiproxy: the real server and cli at a pinned version, statically linked ---------------------------------
build_toxiproxy() {
  local bin="$CACHE/toxiproxy/$TOXIPROXY_VERSION"
  if have_image "$TOXIPROXY_IMAGE"; then
    say "$TOXIPROXY_IMAGE present (kept)"
    return
  fi
  if [ ! -x "$bin/server" ] || [ ! -x "$bin/cli" ]; then
    command -v go >/dev/null || die "go is needed to build Toxiproxy $TOXIPROXY_VERSION and is not installed"
    say "go install toxiproxy $TOXIPROXY_VERSION"
    mkdir -p "$bin"
    CGO_ENABLED=0 GOBIN="$bin" GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" \
      GOFLAGS="-modcacherw -buildvcs=false" \
      go install -trimpath -ldflags="-s -w" \
      "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION" \
      "github.com/Shopify/toxiproxy/v2/cmd/cli@$TOXIPROXY_VERSION" || die "go install of toxiproxy failed"
  fi
  say "building $TOXIPROXY_IMAGE"
  quiet_build toxiproxy -t "$TOXIPROXY_IMAGE" -f "$ROOT/compose/images/toxiproxy/Dockerfile" "$bin"
}

SECONDS=0
build_toxiproxy &
toxi_pid=$!
build_base

base_id=$(image_id "$BASE_IMAGE")
build_tools
engine_deps=$(inputs_hash "" engine/pyproject.toml)
engine_src=$(inputs_hash "" engine/pyproject.toml engine/solat_engine)
# The broker image needs only chaos_lab/__init__.py and chaos_lab/broker: the orchestrator's other modules change
# often and must not force a broker rebuild.
broker_deps=$(inputs_hash "" pyproject.toml)
broker_src=$(inputs_hash "" pyproject.toml chaos_lab/__init__.py chaos_lab/broker)
build_wheels engine "$ROOT/engine" "$engine_deps" "$engine_src" pyproject.toml solat_engine
build_wheels broker "$ROOT" "$broker_deps" "$broker_src" pyproject.toml chaos_lab/__init__.py chaos_lab/broker
# Toxiproxy first: build_app prunes dangling lab images, which must not race another build.
wait "$toxi_pid" || die "toxiproxy image failed"
fetch_debs
engine_debs=$(cd "$CACHE/wheelhouse/engine/debs" && ls)
build_app "$ENGINE_IMAGE" engine "$(inputs_hash "$base_id $engine_src $engine_debs" compose/images/engine)"
build_app "$BROKER_IMAGE" broker "$(inputs_hash "$base_id $broker_src" compose/images/broker)"
say "done"
