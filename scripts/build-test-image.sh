#!/usr/bin/env bash
# Builds the images used by the Lodge runtime tests, from Debian's busybox-static
# and the static test payload (native/test-payload):
#
#   OUTDIR/payload            static multi-call test program
#   OUTDIR/busybox/           unified LXD-style image: metadata.yaml + rootfs/
#   OUTDIR/busybox.tar.xz     the same as a unified image tarball
#   OUTDIR/payload-rootfs/    minimal rootfs whose /sbin/init is the payload
#
# Usage: scripts/build-test-image.sh [OUTDIR]   (default: <repo>/.lodge-test/images)
# Idempotent: outputs newer than their inputs are left alone (FORCE=1 rebuilds).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SELF="$ROOT/scripts/build-test-image.sh"
OUTDIR="${1:-$ROOT/.lodge-test/images}"
BUSYBOX="${BUSYBOX:-/bin/busybox}"
FORCE="${FORCE:-0}"

die() { echo "build-test-image: $*" >&2; exit 1; }
log() { echo "build-test-image: $*" >&2; }

# ---------------------------------------------------------------- checks

if [[ ! -x "$BUSYBOX" ]] || ! "$BUSYBOX" --list-full >/dev/null 2>&1; then
	die "$BUSYBOX not found or not a working busybox; install it with: apt-get install busybox-static"
fi
if command -v readelf >/dev/null 2>&1 && readelf -l "$BUSYBOX" 2>/dev/null | grep 'INTERP' >/dev/null; then
	die "$BUSYBOX is dynamically linked; install the static one with: apt-get install busybox-static"
fi
command -v make >/dev/null 2>&1 || die "make is required (apt-get install build-essential)"
command -v xz >/dev/null 2>&1 || die "xz is required (apt-get install xz-utils)"

mkdir -p "$OUTDIR"
OUTDIR="$(cd "$OUTDIR" && pwd)"

# Files created here must belong to 0:0; only root can arrange that.
AS_ROOT=0
[[ "$(id -u)" == 0 ]] && AS_ROOT=1
((AS_ROOT)) || log "warning: not running as root; rootfs files keep your uid (the tarball is still 0:0)"

ARCH="$(uname -m)"
BB_VERSION="$("$BUSYBOX" 2>&1 | sed -n '1s/^BusyBox v\([^ ]*\).*/\1/p' || true)"
[[ -n "$BB_VERSION" ]] || BB_VERSION="unknown"

# stale TARGET INPUT...: true when TARGET is missing or older than any input.
stale() {
	local target="$1" input
	shift
	[[ "$FORCE" == 1 || ! -e "$target" ]] && return 0
	for input in "$@"; do
		[[ "$input" -nt "$target" ]] && return 0
	done
	return 1
}

# put_file FILE MODE: stdin to FILE with MODE.
put_file() {
	cat >"$1"
	chmod "$2" "$1"
}

# A base set of root-filesystem directories.
make_dirs() {
	local rootfs="$1" d
	shift
	for d in "$@"; do mkdir -p "$rootfs/$d"; done
	chmod 0755 "$rootfs"
	[[ -d "$rootfs/tmp" ]] && chmod 1777 "$rootfs/tmp"
	[[ -d "$rootfs/root" ]] && chmod 0700 "$rootfs/root"
	return 0
}

own_root() { if ((AS_ROOT)); then chown -hR 0:0 "$1"; fi; }

# Replaces DEST with the freshly built TMP (both directories).
swap_in() {
	local tmp="$1" dest="$2"
	rm -rf "$dest.old"
	[[ -e "$dest" ]] && mv "$dest" "$dest.old"
	mv "$tmp" "$dest"
	rm -rf "$dest.old"
}

# ---------------------------------------------------------------- 1. payload

make -s -C "$ROOT/native/test-payload" OUT="$OUTDIR" >&2
PAYLOAD="$OUTDIR/payload"
[[ -x "$PAYLOAD" ]] || die "payload build failed"

# ---------------------------------------------------------------- 2+3. busybox image

BB_DIR="$OUTDIR/busybox"
BB_TAR="$OUTDIR/busybox.tar.xz"

build_busybox() {
	local tmp="$OUTDIR/.busybox.tmp" rootfs applet dir target
	rm -rf "$tmp"
	rootfs="$tmp/rootfs"
	make_dirs "$rootfs" bin sbin usr/bin usr/sbin usr/local/bin dev proc sys tmp run root var/log etc

	install -m 0755 "$BUSYBOX" "$rootfs/bin/busybox"
	# One relative symlink per applet, e.g. usr/bin/awk -> ../../bin/busybox.
	while IFS= read -r applet; do
		[[ -n "$applet" && "$applet" != bin/busybox ]] || continue
		dir="$(dirname "$applet")"
		mkdir -p "$rootfs/$dir"
		case "$dir" in
		.) target=bin/busybox ;;
		bin) target=busybox ;;
		*) target="$(printf '%s' "$dir" | sed -e 's#[^/][^/]*#..#g')/bin/busybox" ;;
		esac
		ln -sfn "$target" "$rootfs/$applet"
	done < <("$BUSYBOX" --list-full)
	ln -sfn ../bin/busybox "$rootfs/sbin/init"

	put_file "$rootfs/etc/inittab" 0644 <<-'EOF'
		::sysinit:/bin/hostname -F /etc/hostname
		::sysinit:/etc/init.d/network
		::sysinit:/bin/echo lodge-busybox: booted
		::ctrlaltdel:/sbin/reboot
		::shutdown:/bin/sync
		::shutdown:/bin/echo lodge-busybox: shutting down
	EOF
	put_file "$rootfs/etc/passwd" 0644 <<-'EOF'
		root:x:0:0:root:/root:/bin/sh
		nobody:x:65534:65534:nobody:/nonexistent:/bin/false
	EOF
	put_file "$rootfs/etc/shadow" 0600 <<-'EOF'
		root:*:19000:0:99999:7:::
		nobody:*:19000:0:99999:7:::
	EOF
	put_file "$rootfs/etc/group" 0644 <<-'EOF'
		root:x:0:
		nogroup:x:65534:
	EOF
	echo busybox | put_file "$rootfs/etc/hostname" 0644
	put_file "$rootfs/etc/hosts" 0644 <<-'EOF'
		127.0.0.1	localhost
		::1	localhost
	EOF
	put_file "$rootfs/etc/shells" 0644 <<-'EOF'
		/bin/sh
		/bin/ash
	EOF
	: | put_file "$rootfs/etc/resolv.conf" 0644
	# As a cloud image does: loopback up, then DHCP on eth0 when the instance has one (udhcpc
	# keeps renewing in the background and applies each lease with the script below).
	mkdir -p "$rootfs/etc/init.d" "$rootfs/usr/share/udhcpc"
	put_file "$rootfs/etc/init.d/network" 0755 <<-'EOF'
		#!/bin/sh
		ip link set lo up 2>/dev/null
		if ip link show eth0 >/dev/null 2>&1; then
		  ip link set eth0 up
		  udhcpc -i eth0 -b -t 20 -T 1 -A 1 -x hostname:"$(hostname)" -s /usr/share/udhcpc/default.script >/dev/null 2>&1
		fi
		exit 0
	EOF
	put_file "$rootfs/usr/share/udhcpc/default.script" 0755 <<-'EOF'
		#!/bin/sh
		# udhcpc calls this with deconfig, bound, renew or leasefail; the lease is in the environment.
		case "$1" in
		deconfig)
		  ip -4 addr flush dev "$interface"
		  ip link set "$interface" up
		  ;;
		bound|renew)
		  ip -4 addr flush dev "$interface"
		  ip addr add "$ip/${mask:-24}" ${broadcast:+broadcast "$broadcast"} dev "$interface"
		  for r in $router; do ip route replace default via "$r" dev "$interface"; break; done
		  : > /etc/resolv.conf
		  [ -n "$domain" ] && echo "search $domain" >> /etc/resolv.conf
		  for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
		  ;;
		esac
		exit 0
	EOF
	install -m 0755 "$PAYLOAD" "$rootfs/usr/local/bin/payload"

	put_file "$tmp/metadata.yaml" 0644 <<-EOF
		architecture: $ARCH
		creation_date: $(date +%s)
		properties:
		  architecture: $ARCH
		  description: BusyBox $BB_VERSION test image for Lodge
		  os: busybox
		  release: "$BB_VERSION"
		  variant: default
		templates:
		  /etc/hostname:
		    when:
		    - create
		    - copy
		    create_only: false
		    template: hostname.tpl
		    properties: {}
	EOF
	# as real LXD images do: the instance's name becomes its hostname
	mkdir -p "$tmp/templates"
	put_file "$tmp/templates/hostname.tpl" 0644 <<-'EOF'
		{{ container.name }}
	EOF
	own_root "$tmp"
	swap_in "$tmp" "$BB_DIR"

	tar --numeric-owner --owner=0 --group=0 --sort=name -C "$BB_DIR" \
		-cJf "$BB_TAR.tmp" metadata.yaml rootfs templates
	mv -f "$BB_TAR.tmp" "$BB_TAR"
}

if stale "$BB_TAR" "$BUSYBOX" "$PAYLOAD" "$SELF" || [[ ! -f "$BB_DIR/metadata.yaml" ]] ||
	[[ ! -x "$BB_DIR/rootfs/bin/busybox" ]] || [[ "$BB_DIR/metadata.yaml" -nt "$BB_TAR" ]]; then
	log "building busybox image (busybox $BB_VERSION, $ARCH)"
	build_busybox
else
	log "busybox image is up to date"
fi

# ---------------------------------------------------------------- 4. payload rootfs

PL_ROOTFS="$OUTDIR/payload-rootfs"

build_payload_rootfs() {
	local tmp="$OUTDIR/.payload-rootfs.tmp"
	rm -rf "$tmp"
	make_dirs "$tmp" sbin usr/local/bin dev proc sys tmp run etc root
	# A copy rather than a symlink, so that argv[0] is .../init.
	install -m 0755 "$PAYLOAD" "$tmp/sbin/init"
	install -m 0755 "$PAYLOAD" "$tmp/usr/local/bin/payload"
	echo payload | put_file "$tmp/etc/hostname" 0644
	echo 'root:x:0:0:root:/root:/usr/local/bin/payload' | put_file "$tmp/etc/passwd" 0644
	echo 'root:x:0:' | put_file "$tmp/etc/group" 0644
	own_root "$tmp"
	swap_in "$tmp" "$PL_ROOTFS"
}

if stale "$PL_ROOTFS/sbin/init" "$PAYLOAD" "$SELF" || [[ ! -x "$PL_ROOTFS/usr/local/bin/payload" ]]; then
	log "building payload rootfs"
	build_payload_rootfs
else
	log "payload rootfs is up to date"
fi

# ---------------------------------------------------------------- summary

for p in "$PAYLOAD" "$BB_DIR" "$BB_TAR" "$PL_ROOTFS"; do
	printf '%s\t%s\n' "$(du -sh "$p" | cut -f1)" "$p"
done
