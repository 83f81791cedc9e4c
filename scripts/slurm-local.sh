#!/usr/bin/env bash
# A throw-away single-node Slurm cluster on this machine, for the spikesift slurm tests.
#
#   scripts/slurm-local.sh start DIR   # writes DIR/slurm.conf, starts munged (if none runs),
#                                      # slurmctld and slurmd; waits until the node is idle
#   scripts/slurm-local.sh stop DIR    # cancels the cluster's jobs and stops what start started
#
# After start, point the Slurm commands at the cluster with SLURM_CONF=DIR/slurm.conf.
# Works without systemd (containers, CI). Everything listens on 127.0.0.1 only
# (CommunicationParameters=NoCtldInAddrAny,NoInAddrAny), so nothing is reachable from outside the machine.
# Needs root and Debian's slurmctld, slurmd, slurm-client and munge packages.
set -euo pipefail

usage() {
  echo "usage: $0 start|stop DIR (DIR: a folder for the cluster's config, state and logs)" >&2
  exit 2
}
[ $# -eq 2 ] || usage
action=$1
dir=$2
case "$action" in start|stop) ;; *) usage ;; esac

missing=()
for exe in slurmctld slurmd sinfo munged munge; do
  command -v "$exe" >/dev/null 2>&1 || [ -x "/usr/sbin/$exe" ] || missing+=("$exe")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "slurm-local: not installed: ${missing[*]} (apt-get install slurmctld slurmd slurm-client munge)" >&2
  exit 3
fi
if [ "$(id -u)" != 0 ]; then
  echo "slurm-local: must run as root (slurmd starts jobs as their users and munged needs /run/munge)" >&2
  exit 3
fi
PATH="$PATH:/usr/sbin:/sbin"

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# Stops one daemon this script started (pid recorded in DIR), never anything else.
stop_pidfile() {
  local file=$1 pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if pid_alive "$pid"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do pid_alive "$pid" || break; sleep 0.1; done
    pid_alive "$pid" && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

if [ "$action" = stop ]; then
  [ -d "$dir" ] || exit 0
  if [ -f "$dir/slurm.conf" ] && [ -f "$dir/slurmctld.started" ]; then
    # Jobs still running would keep slurmstepd processes (and their files) alive.
    SLURM_CONF="$dir/slurm.conf" timeout 10 scancel --quiet --full --user="$(id -un)" 2>/dev/null || true
    for _ in $(seq 50); do
      [ -z "$(SLURM_CONF="$dir/slurm.conf" timeout 5 squeue -h -o %i 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
  stop_pidfile "$dir/slurmd.started"
  stop_pidfile "$dir/slurmctld.started"
  stop_pidfile "$dir/munged.started"
  exit 0
fi

mkdir -p "$dir/state" "$dir/spool" "$dir/logs"
dir=$(cd "$dir" && pwd)
conf="$dir/slurm.conf"
node=$(hostname -s)
cpus=$(nproc)
# RealMemory a little below what is free, or slurmd marks the node invalid.
free_mb=$(awk '/MemAvailable/ { print int($2 / 1024) }' /proc/meminfo)
mem=$(( free_mb > 1024 ? free_mb - 512 : free_mb / 2 ))

# Two free TCP ports of the loopback interface (another cluster of this script may be running).
port_free() { ! ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }
pick_port() {
  local p
  for _ in $(seq 200); do
    p=$(( 20000 + RANDOM % 20000 ))
    if port_free "$p" && [ "$p" != "${1:-}" ]; then echo "$p"; return 0; fi
  done
  echo "slurm-local: no free TCP port found" >&2
  return 1
}
ctld_port=$(pick_port)
slurmd_port=$(pick_port "$ctld_port")

cat >"$conf" <<EOF
# Single-node test cluster written by scripts/slurm-local.sh (state and logs in $dir).
ClusterName=spikesift-local
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
AuthType=auth/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/logs/slurmctld.log
SlurmdLogFile=$dir/logs/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
# Schedule at once when a job ends (default: batches every 3 s), so tests do not sit idle.
SchedulerParameters=batch_sched_delay=0
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
# A dependency that can never be met (a failed array before its merge) cancels the dependent
# job instead of leaving it pending for ever.
DependencyParameters=kill_invalid_depend
MinJobAge=600
NodeName=$node NodeAddr=127.0.0.1 NodeHostname=$node CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF

# munge: authenticates every Slurm message. Reuse a munged that answers (no procps needed to
# tell); else start one as munge.
if ! munge -n </dev/null >/dev/null 2>&1; then
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
  if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
  fi
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 50); do [ -s /run/munge/munged.pid ] && break; sleep 0.1; done
  cp /run/munge/munged.pid "$dir/munged.started"
fi

SLURM_CONF="$conf" slurmctld -D -f "$conf" >"$dir/logs/slurmctld.out" 2>&1 &
echo $! >"$dir/slurmctld.started"
SLURM_CONF="$conf" slurmd -D -f "$conf" -N "$node" >"$dir/logs/slurmd.out" 2>&1 &
echo $! >"$dir/slurmd.started"

for _ in $(seq 120); do
  state=$(SLURM_CONF="$conf" timeout 5 sinfo -h -N -n "$node" -o %t 2>/dev/null || true)
  if [ "$state" = idle ]; then
    echo "slurm-local: node $node idle ($cpus CPUs, ${mem} MB); SLURM_CONF=$conf"
    exit 0
  fi
  for f in slurmctld slurmd; do
    if ! pid_alive "$(cat "$dir/$f.started")"; then
      echo "slurm-local: $f exited; its log:" >&2
      tail -n 20 "$dir/logs/$f.log" "$dir/logs/$f.out" >&2 2>/dev/null || true
      "$0" stop "$dir" || true
      exit 1
    fi
  done
  sleep 0.25
done
echo "slurm-local: the node did not become idle within 30 s (state: ${state:-none}); logs in $dir/logs" >&2
"$0" stop "$dir" || true
exit 1
