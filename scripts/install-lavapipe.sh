#!/usr/bin/env bash
# A software GPU for WebGPU on Debian bookworm: Mesa 25's lavapipe (Vulkan on the CPU) from bookworm-backports.
# bookworm's own Mesa 22 lavapipe lacks a feature Dawn needs. Dawn then finds the `llvmpipe` adapter, so every
# WebGPU code path runs (slowly, for correctness) on a machine without a GPU. Needs root; re-running is a no-op.
set -euo pipefail

if dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -q '^25\.'; then
  echo "lavapipe: Mesa $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) already installed"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "lavapipe: run as root (adds bookworm-backports to apt's sources and installs mesa-vulkan-drivers from it)" >&2
  exit 1
fi
. /etc/os-release
if [ "${VERSION_CODENAME:-}" != bookworm ]; then
  echo "lavapipe: this script is for Debian bookworm (found ${PRETTY_NAME:-an unknown system}); install Mesa >= 25's mesa-vulkan-drivers your own way" >&2
  exit 1
fi

# The same mirror as the sources already configured (deb822 files, or the one-line list).
mirror=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n 1)
[ -n "$mirror" ] || mirror=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}' | grep -v security | head -n 1)
mirror=${mirror:-http://deb.debian.org/debian}
cat > /etc/apt/sources.list.d/p2p-bookworm-backports.sources <<EOF
Types: deb
URIs: $mirror
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers >/dev/null
echo "lavapipe: Mesa $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) from $mirror bookworm-backports"
