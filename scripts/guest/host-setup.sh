#!/usr/bin/env bash
# Prepares THIS machine to run real Malleo guests: the Debian packages, libvirtd + virtlogd
# (started by hand when no systemd runs them) and the project's Linux bridge.
#
#   bash scripts/guest/host-setup.sh            packages + daemons + bridge
#   bash scripts/guest/host-setup.sh packages   only the packages the guest build needs
#   bash scripts/guest/host-setup.sh teardown   removes the bridge, stops the daemons this script started
#
# Exit codes: 0 ready; 3 cannot be made ready here (a `skipped: <reason>` line on stdout).
# The bridge carries only traffic between this host and its guests: no NAT, no forwarding.
set -euo pipefail

BRIDGE="${MALLEO_BRIDGE:-malleo0}"
BRIDGE_CIDR="${MALLEO_BRIDGE_CIDR:-10.77.0.1/24}"
BUILD_PACKAGES=(busybox-static cpio lz4 iproute2 binutils)
DAEMON_PACKAGES=(qemu-system-x86 libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients)

log() { printf '[guest-setup] %s\n' "$*" >&2; }
skip() {
  printf 'skipped: %s\n' "$*"
  exit 3
}

install_packages() {
  local missing=() installed
  installed="$(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null || true)"
  for pkg in "$@"; do
    grep -qxF "$pkg install ok installed" <<<"$installed" || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0
  [[ "$(id -u)" -eq 0 ]] || skip "missing Debian packages ${missing[*]} and not root to install them"
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || true
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || skip "apt-get could not install ${missing[*]}"
}

configure_qemu_driver() {
  # Without systemd/udev the default qemu user and the security drivers get in the way.
  local conf=/etc/libvirt/qemu.conf
  mkdir -p /etc/libvirt /var/log/libvirt/qemu /var/run/libvirt /var/lib/libvirt/qemu /var/cache/libvirt/qemu
  # libvirtd resolves its built-in default user and group even when qemu.conf overrides them.
  getent group kvm >/dev/null || groupadd -r kvm
  getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
  id libvirt-qemu >/dev/null 2>&1 || useradd -r -g libvirt-qemu -G kvm -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
  touch "$conf"
  for kv in 'user = "root"' 'group = "root"' 'security_driver = "none"'; do
    local key="${kv%% =*}"
    if grep -qE "^\s*${key}\s*=" "$conf"; then
      sed -i -E "s|^\s*${key}\s*=.*|${kv}|" "$conf"
    else
      echo "$kv" >>"$conf"
    fi
  done
}

# Daemons this script started (pid files), so `teardown` stops only those.
STARTED=/run/malleo-guest-daemons

start_daemons() {
  if ! pgrep -x -r D,R,S virtlogd >/dev/null; then # (zombies do not count)
    log "starting virtlogd"
    virtlogd -d --pid-file /run/malleo-virtlogd.pid || skip "virtlogd would not start"
    echo /run/malleo-virtlogd.pid >>"$STARTED"
  fi
  if ! pgrep -x -r D,R,S libvirtd >/dev/null; then
    log "starting libvirtd"
    libvirtd -d --pid-file /run/malleo-libvirtd.pid || skip "libvirtd would not start"
    echo /run/malleo-libvirtd.pid >>"$STARTED"
  fi
  for _ in $(seq 1 100); do
    virsh -c qemu:///system version >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  skip "libvirtd does not answer on qemu:///system"
}

stop_started_daemons() {
  [[ -f "$STARTED" ]] || return 0
  # libvirtd first: it talks to virtlogd.
  for pidfile in $(tac "$STARTED"); do
    if [[ -f "$pidfile" ]]; then
      log "stopping $(basename "$pidfile" .pid | sed 's/^malleo-//') (started by this script)"
      kill "$(cat "$pidfile")" 2>/dev/null || true
    fi
  done
  rm -f "$STARTED"
}

create_bridge() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    log "creating bridge $BRIDGE ($BRIDGE_CIDR)"
    ip link add "$BRIDGE" type bridge || skip "cannot create the bridge $BRIDGE (no CAP_NET_ADMIN?)"
  fi
  # (Not `ip … | grep -q`: with pipefail, grep's early exit can fail the pipe through SIGPIPE.)
  local addrs
  addrs="$(ip addr show dev "$BRIDGE")"
  grep -qF "inet $BRIDGE_CIDR" <<<"$addrs" || ip addr add "$BRIDGE_CIDR" dev "$BRIDGE"
  ip link set "$BRIDGE" up
}

case "${1:-all}" in
  packages)
    install_packages "${BUILD_PACKAGES[@]}"
    ;;
  teardown)
    if ip link show "$BRIDGE" >/dev/null 2>&1; then
      log "removing bridge $BRIDGE"
      ip link del "$BRIDGE"
    fi
    stop_started_daemons
    ;;
  all)
    command -v dpkg-query >/dev/null || skip "not a Debian system (no dpkg-query)"
    [[ "$(id -u)" -eq 0 ]] || skip "libvirtd and the bridge need root"
    install_packages "${BUILD_PACKAGES[@]}" "${DAEMON_PACKAGES[@]}"
    configure_qemu_driver
    start_daemons
    create_bridge
    ;;
  *)
    echo "usage: $0 [all|packages|teardown]" >&2
    exit 2
    ;;
esac
