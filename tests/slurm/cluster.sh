#!/usr/bin/env bash
# A real single-node SLURM cluster for the tests (Debian's slurm-wlm 22.05 + munge), all state in DIR.
#
#   tests/slurm/cluster.sh start DIR   install if missing (apt, root), write DIR/slurm.conf for this
#                                      host, start munged, slurmctld, slurmd; wait until the node is idle
#   tests/slurm/cluster.sh stop DIR    stop the three daemons by the PIDs in DIR
#
# After `start`, use the cluster with `export SLURM_CONF=DIR/slurm.conf`. Finished jobs are recorded
# by SLURM itself in DIR/jobcomp.txt (jobcomp/filetxt: JobId, StartTime, EndTime, JobState, ...):
# there is no slurmdbd here, so `sacct` has no accounting store to read.
# Exit codes: 0 ok, 1 failed (the reason is printed), 3 cannot run here (no root or no apt).
set -euo pipefail

ACTION=${1:-}
DIR=${2:-}
if [[ -z "$ACTION" || -z "$DIR" ]]; then
    echo "usage: $0 start|stop DIR" >&2
    exit 2
fi

die() { echo "cluster.sh: $*" >&2; exit 1; }
cannot() { echo "cluster.sh: $*" >&2; exit 3; }

install_if_missing() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
        && command -v sbatch >/dev/null; then
        return 0
    fi
    [[ $(id -u) -eq 0 ]] || cannot "slurm-wlm/munge are not installed and installing them needs root"
    command -v apt-get >/dev/null || cannot "slurm-wlm/munge are not installed and there is no apt-get"
    echo "cluster.sh: installing slurm-wlm and munge (apt)" >&2
    # apt-get's log goes to a file: shown when it fails, so the reason is not lost
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q --no-install-recommends slurm-wlm munge; } >"$DIR/apt.log" 2>&1; then
        tail -20 "$DIR/apt.log" >&2
        die "apt-get install slurm-wlm munge failed (log: $DIR/apt.log)"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

write_conf() {
    local host cpus memory
    host=$(hostname)
    # what slurmd itself detects on this host: CPUs, sockets, cores, memory
    local node
    node=$(slurmd -C | head -1)
    [[ "$node" == NodeName=* ]] || die "slurmd -C did not describe this host: $node"
    cat >"$DIR/slurm.conf" <<EOF
ClusterName=mleetest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.socket
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/jobcomp.txt
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1,sched_min_interval=100000
ReturnToService=2
MinJobAge=3600
KillWait=5
InactiveLimit=0
MpiDefault=none
$node State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

wait_idle() {
    local waited=0
    until sinfo --noheader -o "%t" 2>/dev/null | grep -qx "idle"; do
        sleep 0.5
        waited=$((waited + 1))
        if ((waited > 120)); then
            tail -5 "$DIR/slurmctld.log" "$DIR/slurmd.log" >&2 || true
            die "the node did not become idle within 60 s (sinfo: $(sinfo --noheader 2>&1 | head -3))"
        fi
    done
}

start() {
    [[ $(id -u) -eq 0 ]] || cannot "starting slurmctld/slurmd as configured here needs root"
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd)
    install_if_missing
    mkdir -p "$DIR/state" "$DIR/spool" "$DIR/munge"
    chmod 700 "$DIR/munge"
    # a fresh key for this cluster only
    dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
    chmod 400 "$DIR/munge/munge.key"
    munged --force --key-file="$DIR/munge/munge.key" --socket="$DIR/munge/munge.socket" \
        --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/munge/munged.log" \
        --seed-file="$DIR/munge/munged.seed" || die "munged did not start (log: $DIR/munge/munged.log)"
    write_conf
    export SLURM_CONF="$DIR/slurm.conf"
    slurmctld -f "$SLURM_CONF" -i || die "slurmctld did not start (log: $DIR/slurmctld.log)"
    slurmd -f "$SLURM_CONF" || die "slurmd did not start (log: $DIR/slurmd.log)"
    wait_idle
    echo "cluster.sh: node $(hostname) idle; export SLURM_CONF=$SLURM_CONF"
}

stop_pid() {
    local file=$1 pid
    [[ -f "$file" ]] || return 0
    pid=$(cat "$file")
    if [[ -n "$pid" ]] && kill "$pid" 2>/dev/null; then
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
}

stop() {
    # slurmd first (it ends its jobs' steps), then the controller, then munge they both need
    stop_pid "$DIR/slurmd.pid"
    stop_pid "$DIR/slurmctld.pid"
    stop_pid "$DIR/munge/munged.pid"
}

case "$ACTION" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
