#!/usr/bin/env bash
# A one-node SLURM cluster on localhost for the SLURM executor's tests (Debian's slurm-wlm 22.05 and munge):
#   bash scripts/slurm-cluster.sh start DIR   writes DIR/slurm.conf, starts munged, slurmctld and slurmd, waits
#                                             until the node is idle; then `export SLURM_CONF=DIR/slurm.conf`
#   bash scripts/slurm-cluster.sh stop DIR    stops the three daemons by the process ids in DIR (never by name)
# The node has two fake GPUs (gres.conf over character devices) and two partitions on it: `batch` and `urgent`,
# whose jobs preempt batch's (REQUEUE). Ports, state and logs all live in DIR; nothing under /etc is touched.
set -euo pipefail

cmd="${1:-}"
dir="${2:-}"
if [[ -z "$cmd" || -z "$dir" ]]; then
  echo "usage: $0 start|stop DIR" >&2
  exit 2
fi
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

stop() {
  for name in slurmd slurmctld munged; do
    local pidfile="$dir/run/$name.pid"
    [[ -f "$pidfile" ]] || continue
    local pid
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
}

write_config() {
  local host cpus mem
  host="$(hostname -s)"
  cpus="$(nproc)"
  mem="$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))"
  mkdir -p "$dir/run" "$dir/log" "$dir/state" "$dir/spool" "$dir/munge" "$dir/dev"
  chmod 0755 "$dir/munge" # munged refuses a socket directory others may write to
  for i in 0 1; do
    [[ -c "$dir/dev/gpu$i" ]] || mknod "$dir/dev/gpu$i" c 1 3 # a character device (/dev/null's numbers)
  done
  [[ -f "$dir/munge/munge.key" ]] || { head -c 1024 /dev/urandom > "$dir/munge/munge.key"; chmod 0400 "$dir/munge/munge.key"; }
  cat > "$dir/gres.conf" <<EOF
NodeName=$host Name=gpu File=$dir/dev/gpu0
NodeName=$host Name=gpu File=$dir/dev/gpu1
EOF
  cat > "$dir/slurm.conf" <<EOF
ClusterName=p2plocal
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket.2,cred_expire=10
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
JobRequeue=1
KillWait=30
MinJobAge=600
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$host CPUs=$cpus RealMemory=$mem Gres=gpu:2 State=UNKNOWN
PartitionName=batch Nodes=$host Default=YES MaxTime=INFINITE State=UP PriorityTier=1 PreemptMode=REQUEUE
PartitionName=urgent Nodes=$host MaxTime=INFINITE State=UP PriorityTier=2
EOF
}

start() {
  stop
  write_config
  export SLURM_CONF="$dir/slurm.conf"
  # Started under exactly these names: slurmd ignores `Gres=` when its argv[0] is anything else.
  munged --socket="$dir/munge/munge.socket.2" --key-file="$dir/munge/munge.key" --pid-file="$dir/run/munged.pid" \
    --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munge.seed" --force
  slurmctld -i
  slurmd
  for _ in $(seq 150); do
    if sinfo -h -o %T 2>/dev/null | grep -qx idle && scontrol show slurmd >/dev/null 2>&1; then
      echo "slurm: one node idle, SLURM_CONF=$SLURM_CONF"
      return 0
    fi
    sleep 0.2
  done
  echo "slurm: the node did not come up; logs in $dir/log" >&2
  tail -n 20 "$dir/log/"*.log >&2 || true
  stop
  return 1
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
