#!/usr/bin/env bash
# Sets up everything this project needs on a Debian machine, then runs the given command with the
# project's Node first on PATH:   bash .ci/setup.sh npm start   |   bash .ci/setup.sh npm test
# Idempotent, and quick when nothing has changed since the last run.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
node_pin=$(cat .ci/node-version)
say() { printf '[setup] %s\n' "$*" >&2; }

# 1. System packages: GDAL to build gdal-async against, a C++ toolchain for native addons,
#    xmllint (XSD checks), OWSLib (client interop tests, seen only by /usr/bin/python3) and
#    Chromium (browser tests, driven by playwright-core, which downloads no browser; about 10 s and
#    530 MB with its libraries) and PostgreSQL (the shared job store; tests start their own server).
missing=()
for pkg in libgdal-dev gdal-bin g++ make python3 libxml2-utils python3-owslib python3-pywps sqlite3 chromium postgresql; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  say "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. Node: the pinned LTS from the npm registry (binary and C headers) into the ignored .node/.
case "$(uname -m)" in x86_64) node_arch=x64 ;; aarch64) node_arch=arm64 ;; *) node_arch=$(uname -m) ;; esac
if [ "$(.node/bin/node --version 2>/dev/null)" != "v$node_pin" ]; then
  say "provisioning Node $node_pin into .node/"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-$node_arch@$node_pin" >/dev/null)
  rm -rf .node && mkdir -p .node
  tar xzf "$tmp"/node-linux-*.tgz -C .node --strip-components=1
  rm -rf "$tmp"
fi
export PATH="$root/.node/bin:$root/node_modules/.bin:$PATH"

# 3. npm dependencies, native addons built against the system GDAL and this Node's headers.
stamp="$(sha256sum package-lock.json | cut -d' ' -f1) node-$node_pin gdal-$(gdal-config --version)"
if [ "$(cat node_modules/.setup-stamp 2>/dev/null)" != "$stamp" ]; then
  say "npm ci: compiling the native addons gdal-async (against the system GDAL $(gdal-config --version)) and"
  say "better-sqlite3 from source. This takes about 4-6 minutes on 2 cores and prints nothing until it ends."
  npm_config_build_from_source=true npm_config_shared_gdal=true npm_config_nodedir="$root/.node" \
    npm ci --no-audit --no-fund --loglevel=error
  echo "$stamp" > node_modules/.setup-stamp
fi

# 4. XML schemas for VERYSTRICT validation, into the ignored .schemas/ (an OGC schema mirror layout).
#    KML 2.2 (with its Atom and xAL imports) is the only OGC schema set a Debian package ships: it
#    comes from python3-mapproxy's test data, extracted from the package without installing it.
if [ ! -f .schemas/kml/2.2.0/ogckml22.xsd ]; then
  say "extracting the KML 2.2 schemas from Debian's python3-mapproxy into .schemas/"
  tmp=$(mktemp -d)
  fetch() { (cd "$tmp" && apt-get download -qq python3-mapproxy 2>/dev/null); }
  if ! fetch; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq && fetch
  fi
  dpkg-deb -x "$tmp"/python3-mapproxy_*.deb "$tmp/x"
  mkdir -p .schemas/kml
  rm -rf .schemas/kml/2.2.0
  cp -r "$tmp/x/usr/share/python3-mapproxy/test/schemas/kml/2.2.0" .schemas/kml/
  rm -rf "$tmp"
fi

if (($#)); then exec "$@"; fi
