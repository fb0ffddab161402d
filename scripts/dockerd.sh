#!/usr/bin/env bash
# Makes sure a Docker engine answers before the tests: when `docker info` does not, starts Debian's
# dockerd in the background (root only; systemd first when it runs), waits up to 60 s, prints the
# version. Exits non-zero when no engine can be had — the Docker tests then fail with kdlab's own
# "daemon not running" error rather than being skipped: in CI Docker must work.
set -uo pipefail

log=${KDLAB_DOCKERD_LOG:-/var/log/dockerd.log}

answers() { docker info >/dev/null 2>&1; }

if ! command -v docker >/dev/null 2>&1 || ! command -v dockerd >/dev/null 2>&1; then
  echo "kdlab dockerd: docker.io is not installed (apt-get install -y docker.io)" >&2
  exit 1
fi

if ! answers; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "kdlab dockerd: the engine does not answer and starting dockerd needs root (sudo bash scripts/dockerd.sh)" >&2
    exit 1
  fi
  if [[ -d /run/systemd/system ]] && systemctl start docker 2>/dev/null; then
    echo "kdlab dockerd: started docker.service"
  else
    echo "kdlab dockerd: starting dockerd in the background (log: $log)"
    # setsid: the daemon must outlive this script and the test run's process group.
    setsid dockerd >>"$log" 2>&1 </dev/null &
  fi
  for _ in $(seq 60); do
    answers && break
    sleep 1
  done
fi

if ! answers; then
  echo "kdlab dockerd: the Docker engine did not answer within 60 s; last lines of $log:" >&2
  tail -n 20 "$log" >&2 2>/dev/null || true
  exit 1
fi
echo "kdlab dockerd: Docker $(docker version --format '{{.Server.Version}}' 2>/dev/null) answers"
