#!/usr/bin/env bash
# What the benchmark needs beyond the project's set-up: the peer (PyWPS under gunicorn, with
# python3-gdal for its buffer process on osgeo.ogr) and the load generator (wrk).
set -euo pipefail
missing=()
for pkg in python3-pywps python3-gdal gunicorn wrk; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
