#!/bin/sh
# /init of the Malleo guest (busybox sh). Everything it needs comes on the kernel command line:
#   malleo.ip=10.77.0.10/24  malleo.vm=<vm id>  malleo.secret=<per-VM secret>  malleo.mediator=<host:port>
# It loads the virtio network modules, configures eth0 (the cloud kernel has no IP autoconfig)
# and runs the theater; when the theater exits the guest powers off.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
read -r UPTIME _ </proc/uptime
echo "malleo-init: start (kernel up ${UPTIME} s)"
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net; do
  insmod "/lib/modules/$m.ko" 2>/dev/null
done
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    malleo.ip=*) MALLEO_IP="${arg#malleo.ip=}" ;;
    malleo.vm=*) MALLEO_VM_ID="${arg#malleo.vm=}" ;;
    malleo.secret=*) MALLEO_THEATER_SECRET="${arg#malleo.secret=}" ;;
    malleo.mediator=*) MALLEO_MEDIATOR="${arg#malleo.mediator=}" ;;
  esac
done
ip link set lo up
for _ in 1 2 3 4 5 6 7 8 9 10; do
  [ -e /sys/class/net/eth0 ] && break
  sleep 0.2
done
if [ -n "$MALLEO_IP" ]; then
  ip addr add "$MALLEO_IP" dev eth0
  ip link set eth0 up
  # Unsolicited ARP, in the background: a new guest may get the address of one just destroyed,
  # whose MAC the other guests' ARP caches still hold (a merge target's theater was unreachable
  # from its sources for 10 s without this).
  arping -q -U -c 3 -I eth0 "${MALLEO_IP%/*}" &
fi
echo "malleo-init: eth0 ${MALLEO_IP:-none}, vm ${MALLEO_VM_ID:-none}, mediator ${MALLEO_MEDIATOR:-none}"
export MALLEO_VM_ID MALLEO_THEATER_SECRET MALLEO_MEDIATOR
export MALLEO_LISTEN_HOST=0.0.0.0
export MALLEO_ADVERTISE_HOST="${MALLEO_IP%/*}"
read -r UPTIME _ </proc/uptime
echo "malleo-init: starting the theater at ${UPTIME} s"
/bin/node --max-old-space-size=96 /malleo/theater.cjs
echo "malleo-init: theater exited with $?"
poweroff -f
