#!/usr/bin/env bash
# Install the Debian packages wirekit's demo and tests need, only those that are missing.
# Idempotent and non-interactive; run as root (or with sudo available).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

packages=("$@")
[ ${#packages[@]} -gt 0 ] || exit 0

missing=()
for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
        echo "install-sysdeps: missing packages (${missing[*]}) and not root; install them as root" >&2
        exit 1
    fi
fi

# tshark asks whether non-root users may capture; answer "no" ahead of time so apt never prompts.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $sudo debconf-set-selections

echo "install-sysdeps: installing ${missing[*]}"
$sudo apt-get update -q -o Dpkg::Use-Pty=0 >/dev/null
$sudo apt-get install -y -q --no-install-recommends -o Dpkg::Use-Pty=0 "${missing[@]}" >/dev/null
