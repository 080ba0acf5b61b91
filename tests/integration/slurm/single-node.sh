#!/usr/bin/env bash
# A single-node Slurm for tests: starts munged, slurmctld and slurmd from a
# minimal configuration in a fresh directory, runs
#   srun -n 2 tcpmax load ... --results DIR   and   tcpmax merge DIR/*.json
# and stops every daemon it started (on any exit). Needs root.
#   single-node.sh TCPMAX_BINARY TARGET CONNECTIONS
# Prints the merge's JSON on stdout; diagnostics on stderr.
set -euo pipefail

bin=$1 target=$2 connections=$3
work=$(mktemp -d /tmp/tcpmax-slurm.XXXXXX)
chmod 755 "$work"
host=$(hostname -s)
# Ports of this run's daemons: away from the defaults (6817/6818), from the
# default ephemeral range (32768-60999), from the ports other tests use, and
# from another run of this script.
base=$((61000 + ($$ % 2000) * 2))
ctld_port=$((base)) slurmd_port=$((base + 1))

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# munge: its own key, socket and files (the system's munged, if any, is left alone).
dd if=/dev/urandom of="$work/munge.key" bs=128 count=1 status=none
chmod 400 "$work/munge.key"
munged --force --key-file="$work/munge.key" --socket="$work/munge.socket" \
  --pid-file="$work/munged.pid" --log-file="$work/munged.log" --seed-file="$work/munged.seed"
for _ in $(seq 50); do [ -s "$work/munged.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$work/munged.pid")")

mkdir -p "$work/state" "$work/spool"
cat > "$work/slurm.conf" <<CONF
ClusterName=tcpmax
SlurmctldHost=$host
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
AuthInfo=socket=$work/munge.socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=tcpmax Nodes=ALL Default=YES MaxTime=10 State=UP OverSubscribe=YES
CONF
export SLURM_CONF=$work/slurm.conf

slurmctld -i -f "$SLURM_CONF"
for _ in $(seq 50); do [ -s "$work/slurmctld.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$work/slurmctld.pid")")
slurmd -f "$SLURM_CONF"
for _ in $(seq 50); do [ -s "$work/slurmd.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$work/slurmd.pid")")

# Wait for the node to come up.
for _ in $(seq 100); do
  state=$(sinfo -h -N -o '%T' 2>/dev/null | head -n1 || true)
  case "$state" in idle*|mixed*|allocated*) break ;; esac
  sleep 0.2
done
echo "slurm: node $host is ${state:-unknown}" >&2

mkdir -p "$work/results"
timeout 120 srun -n 2 --overcommit -t 2 "$bin" load "$target" -n "$connections" --hold 1s \
  --results "$work/results" >"$work/load.out" 2>"$work/load.err" || {
  echo "srun failed:" >&2; cat "$work/load.err" "$work/slurmctld.log" "$work/slurmd.log" >&2; exit 1; }
cat "$work/load.err" >&2
"$bin" merge --json "$work/results"/*.json
