#!/usr/bin/env bash
# Install the Debian/Ubuntu packages faabric-py needs, if any are missing.
set -euo pipefail

packages=(clang lld wasi-libc libclang-rt-dev-wasm32 libc++-dev-wasm32 redis-server mpich libomp-dev)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
# libc++abi for wasm32 is versioned on some releases (Debian 12: libc++abi-14-dev-wasm32).
if ! ls /usr/lib/wasm32-wasi/libc++abi.a >/dev/null 2>&1; then
  missing+=("libc++abi-dev-wasm32")
fi
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
echo "Installing system packages: ${missing[*]}"
$sudo apt-get update -qq
resolved=()
for package in "${missing[@]}"; do
  if [ "$package" = "libc++abi-dev-wasm32" ] && ! apt-cache show "$package" >/dev/null 2>&1; then
    package=$(apt-cache search --names-only '^libc\+\+abi-[0-9]+-dev-wasm32$' | awk '{print $1}' | sort -V | head -n 1)
  fi
  resolved+=("$package")
done
$sudo apt-get install -y -qq "${resolved[@]}" >/dev/null
