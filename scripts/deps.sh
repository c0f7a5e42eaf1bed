#!/usr/bin/env bash
# Installs the Debian packages swimring needs that are missing. Prints what it
# does. Without root it lists the command to run instead and fails.
set -euo pipefail

# Build and test: compiler, CMake, libraries, Criterion, clang for libFuzzer,
# valgrind for the leak check; curl for make demo; iproute2 and nftables for
# the network-namespace mode of testkit and `ringctl cluster up --netns`
# (its tests skip, saying why, where namespaces are not allowed).
# Benchmarks: serf and redis-server as anchors, tcpdump to count gossip
# bytes on loopback the same way for both, lld to lay out the static ringd
# bench/membership runs (tools/ringd/CMakeLists.txt).
PKGS=(build-essential cmake pkg-config
      libevent-dev libmsgpack-dev libssl-dev libyaml-dev libjansson-dev
      libcriterion-dev clang libclang-rt-14-dev valgrind curl openssl
      iproute2 nftables procps)
if [ "${1:-}" = "--bench" ]; then
  PKGS+=(serf redis-server tcpdump lld)
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PKGS[@]} packages present"
  exit 0
fi

echo "deps: missing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: not root; run this and then make again:" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "deps: apt-get update"
apt-get update -qq
echo "deps: apt-get install -y ${missing[*]}"
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "deps: done"
