#!/usr/bin/env bash
# Makes sure the real servers the tests (or benchmarks) start are installed: installs missing Debian
# packages when run as root, otherwise prints exactly what to install and fails.
# Usage: scripts/ensure-system-packages.sh [test|bench]   (bench adds the tools the benchmarks compare with)
set -euo pipefail
purpose="${1:-test}"

# program that must exist → Debian package providing it
needs=(
  "/usr/sbin/sshd openssh-server"
  "/usr/bin/ssh-keygen openssh-client"
  "/usr/sbin/nginx nginx"
  "/usr/sbin/haproxy haproxy"
  "/usr/bin/prometheus prometheus"
  "/usr/lib/postgresql/*/bin/initdb postgresql"
  "/usr/bin/pg_dump postgresql-client"
)
if [ "$purpose" = bench ]; then
  needs+=("/usr/bin/ansible-playbook ansible" "/usr/bin/sqlite3 sqlite3")
fi

missing=()
for need in "${needs[@]}"; do
  program="${need% *}"; package="${need##* }"
  # shellcheck disable=SC2086 # the glob in the postgresql path must expand
  if ! compgen -G $program >/dev/null; then missing+=("$package"); fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "› installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi
echo "The ${purpose}s start real servers, and these Debian packages are missing: ${missing[*]}" >&2
echo "Install them with:  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
echo "(Nothing is started as a system service: the ${purpose}s start their own copies on loopback.)" >&2
exit 1
