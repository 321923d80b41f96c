#!/usr/bin/env bash
# A real Asterisk (Debian unstable) in a cached chroot, for the end-to-end FastAGI tests.
#
#   scripts/asterisk-lab.sh build            # mmdebstrap sid + asterisk into $IVRFLOW_ASTERISK_ROOT
#   scripts/asterisk-lab.sh configure PORT   # /etc/asterisk from scripts/asterisk/*.conf, AGI on PORT
#   scripts/asterisk-lab.sh start | stop | status | root
#
# Environment: IVRFLOW_ASTERISK_ROOT (the chroot, default /var/cache/ivrflow/asterisk-sid),
# IVRFLOW_DEBIAN_MIRROR (default: the first http(s) Debian URI of the host's apt sources),
# IVRFLOW_ASTERISK_SIP_PORT (5060), IVRFLOW_ASTERISK_AMI_PORT (5038) and
# IVRFLOW_ASTERISK_AMI_SECRET (the AMI user `ivrflow`), IVRFLOW_ASTERISK_BOOT_TIMEOUT (60 s).
#
# Exit codes: 0 ok, 2 usage, 3 the lab cannot be built here (tests skip), 4 Asterisk failed to
# start or stop (tests fail). Every failure prints one line starting with "asterisk-lab: ".
set -euo pipefail

ROOT="${IVRFLOW_ASTERISK_ROOT:-/var/cache/ivrflow/asterisk-sid}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TEMPLATES="$HERE/asterisk"
STAMP="$ROOT/.ivrflow-lab"
PIDFILE="$ROOT/.ivrflow-lab.pid"
PACKAGES="asterisk,asterisk-core-sounds-en-gsm"
BOOT_TIMEOUT="${IVRFLOW_ASTERISK_BOOT_TIMEOUT:-60}"
SIP_PORT="${IVRFLOW_ASTERISK_SIP_PORT:-5060}"
# The Manager Interface (manager.conf) for the callback dialer: loopback only, the lab's secret.
AMI_PORT="${IVRFLOW_ASTERISK_AMI_PORT:-5038}"
AMI_SECRET="${IVRFLOW_ASTERISK_AMI_SECRET:-ivrflow-lab}"

say() { echo "asterisk-lab: $*" >&2; }
die() { say "$2"; exit "$1"; }
unbuildable() { die 3 "SKIP: cannot build the Asterisk chroot: $*"; }

need_root() {
  [ "$(id -u)" = 0 ] || unbuildable "needs root (mmdebstrap/chroot), running as $(id -un)"
}

# The first http(s) Debian URI of the host's apt sources (deb822 or one-line format).
debian_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    uri="$(awk 'tolower($1)=="uris:" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\/.*\/debian\/?$/) { print $i; exit } }' "$f")"
    [ -n "$uri" ] && { echo "$uri"; return 0; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    uri="$(awk '$1=="deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\/.*\/debian\/?$/) { print $i; exit } }' "$f")"
    [ -n "$uri" ] && { echo "$uri"; return 0; }
  done
  return 1
}

chroot_works() {
  [ -f "$STAMP" ] && [ -x "$ROOT/usr/sbin/asterisk" ] &&
    chroot "$ROOT" /usr/sbin/asterisk -V >/dev/null 2>&1
}

host_tools() {
  local missing=()
  command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
  command -v sipp >/dev/null || missing+=(sip-tester)
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || unbuildable "no apt-get to install ${missing[*]}"
  say "installing ${missing[*]}"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1 || unbuildable "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
      unbuildable "apt-get install ${missing[*]} failed"
  fi
}

cmd_build() {
  need_root
  host_tools
  if chroot_works; then
    say "chroot ready at $ROOT ($(cat "$STAMP"))"
    return 0
  fi
  local mirror tmp start
  case "$ROOT" in
    /*/*) ;;
    *) unbuildable "IVRFLOW_ASTERISK_ROOT must be an absolute path below a directory: '$ROOT'" ;;
  esac
  if [ -d "$ROOT" ] && [ -n "$(ls -A "$ROOT")" ] && [ ! -f "$ROOT/etc/debian_version" ]; then
    unbuildable "refusing to replace $ROOT: not empty and not a Debian chroot"
  fi
  mirror="${IVRFLOW_DEBIAN_MIRROR:-}"
  [ -n "$mirror" ] || mirror="$(debian_mirror)" ||
    unbuildable "no http(s) Debian mirror in /etc/apt/sources.list* (set IVRFLOW_DEBIAN_MIRROR)"
  tmp="$ROOT.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$(dirname "$ROOT")"
  start=$(date +%s)
  say "building Debian sid + asterisk from $mirror into $ROOT (about 350 MB)"
  if ! mmdebstrap --quiet --variant=apt --aptopt='Acquire::Check-Valid-Until "false"' \
    --include="$PACKAGES" sid "$tmp" "$mirror" >"$tmp.log" 2>&1; then
    local why
    tail -n 20 "$tmp.log" >&2 || true
    why="$(grep -m1 -E 'Failed to fetch|Unable to locate|Unable to connect|^E: ' "$tmp.log" | cut -c1-200 || true)"
    rm -rf "$tmp" "$tmp.log"
    unbuildable "mmdebstrap sid --include=$PACKAGES from $mirror failed: ${why:-see the log above}"
  fi
  local version
  version="$(chroot "$tmp" dpkg-query -W -f='${Version}' asterisk 2>/dev/null)" ||
    { rm -rf "$tmp"; unbuildable "asterisk is not installed in the new chroot"; }
  echo "asterisk $version" >"$tmp/.ivrflow-lab"
  rm -rf "${ROOT:?}" "$tmp.log"
  mv "$tmp" "$ROOT"
  chroot_works || unbuildable "the new chroot cannot run /usr/sbin/asterisk"
  say "built asterisk $version in $(($(date +%s) - start)) s"
}

cmd_configure() {
  local port="${1:-}"
  [[ "$port" =~ ^[0-9]+$ ]] || die 2 "usage: $0 configure AGI_PORT"
  [[ "$AMI_PORT" =~ ^[0-9]+$ ]] || die 2 "IVRFLOW_ASTERISK_AMI_PORT must be a port number"
  [[ "$AMI_SECRET" =~ ^[A-Za-z0-9._-]+$ ]] || die 2 "IVRFLOW_ASTERISK_AMI_SECRET: letters, digits, . _ - only"
  chroot_works || die 4 "no working chroot at $ROOT; run '$0 build' first"
  local etc="$ROOT/etc/asterisk" f
  mkdir -p "$etc"
  find "$etc" -maxdepth 1 -type f -name '*.conf' -delete
  for f in "$TEMPLATES"/*.conf; do
    sed -e "s/@AGI_PORT@/$port/g" -e "s/@SIP_PORT@/$SIP_PORT/g" -e "s/@AMI_PORT@/$AMI_PORT/g" \
      -e "s/@AMI_SECRET@/$AMI_SECRET/g" "$f" >"$etc/$(basename "$f")"
  done
  # Asterisk runs as the asterisk user: as root it fails on its own database.
  chroot "$ROOT" id asterisk >/dev/null 2>&1 ||
    chroot "$ROOT" useradd --system --home-dir /var/lib/asterisk --shell /usr/sbin/nologin asterisk
  # Paths are resolved inside the chroot: /var/run is an absolute symlink to /run there.
  for d in /var/lib/asterisk /var/log/asterisk /var/spool/asterisk /var/run/asterisk /etc/asterisk; do
    chroot "$ROOT" mkdir -p "$d"
    chroot "$ROOT" chown -R asterisk:asterisk "$d"
  done
  say "configured $etc (SIP 127.0.0.1:$SIP_PORT, AGI agi://127.0.0.1:$port, AMI 127.0.0.1:$AMI_PORT)"
}

running() {
  [ -x "$ROOT/usr/sbin/asterisk" ] &&
    timeout 5 chroot "$ROOT" /usr/sbin/asterisk -rx "core show version" >/dev/null 2>&1
}

cmd_start() {
  chroot_works || die 4 "no working chroot at $ROOT; run '$0 build' first"
  [ -f "$ROOT/etc/asterisk/asterisk.conf" ] || die 4 "not configured; run '$0 configure PORT' first"
  if running; then
    # Already up (an earlier run): pick up the current configuration.
    chroot "$ROOT" /usr/sbin/asterisk -rx "core reload" >/dev/null
    say "already running; configuration reloaded"
    return 0
  fi
  local log="$ROOT/var/log/asterisk/console.log" start pid
  start=$(date +%s%N)
  chroot "$ROOT" rm -f /var/run/asterisk/asterisk.ctl /var/run/asterisk/asterisk.pid
  setsid chroot "$ROOT" /usr/sbin/asterisk -f -U asterisk -G asterisk </dev/null >"$log" 2>&1 &
  pid=$!
  echo "$pid" >"$PIDFILE"
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 20 "$log" >&2 || true
      die 4 "Asterisk exited during start (log: $log)"
    fi
    if timeout 10 chroot "$ROOT" /usr/sbin/asterisk -rx "core waitfullybooted" >/dev/null 2>&1; then
      break
    fi
    if [ $((($(date +%s%N) - start) / 1000000000)) -ge "$BOOT_TIMEOUT" ]; then
      tail -n 20 "$log" >&2 || true
      kill -- -"$pid" 2>/dev/null || true
      die 4 "Asterisk not fully booted after $BOOT_TIMEOUT s (log: $log)"
    fi
    sleep 0.5
  done
  say "Asterisk up in $((($(date +%s%N) - start) / 1000000)) ms (pid $pid)"
}

cmd_stop() {
  local pidfile="$PIDFILE" pid="" i
  [ -f "$pidfile" ] && pid="$(cat "$pidfile")"
  if running; then
    timeout 10 chroot "$ROOT" /usr/sbin/asterisk -rx "core stop now" >/dev/null 2>&1 || true
  fi
  if [ -n "$pid" ]; then
    for i in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM -- -"$pid" 2>/dev/null || true
      sleep 1
      kill -KILL -- -"$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pidfile"
  if running; then die 4 "Asterisk is still running"; fi
  say "stopped"
}

cmd_status() {
  if running; then
    chroot "$ROOT" /usr/sbin/asterisk -rx "core show uptime"
    chroot "$ROOT" /usr/sbin/asterisk -rx "pjsip show endpoints"
  elif chroot_works; then
    say "built ($(cat "$STAMP")), not running"
    return 1
  else
    say "not built at $ROOT"
    return 1
  fi
}

case "${1:-}" in
  build) cmd_build ;;
  configure) shift; cmd_configure "$@" ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  root) echo "$ROOT" ;;
  *) die 2 "usage: $0 build | configure AGI_PORT | start | stop | status | root" ;;
esac
