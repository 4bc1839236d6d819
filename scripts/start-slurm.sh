#!/bin/sh
# Start a one-node Slurm cluster on this machine for outflow's tests
# (Debian, as root, no systemd).
#
# Idempotent: installs `slurm-wlm` and `munge` if missing, starts munged,
# writes /etc/slurm/slurm.conf, starts slurmctld and slurmd, waits for the node
# to be idle and runs a two-CPU job as a self-check. When everything already
# runs with the same configuration it only verifies. The last line printed is
# `ok`; on failure it names the logs to read and exits non-zero.
#
# Accounting is off (no slurmdbd), so `sacct` does not work here: follow jobs
# with `squeue` and `scontrol show job`.
set -eu

CONF=/etc/slurm/slurm.conf
LOG_DIR=/var/log/slurm
CTLD_LOG=$LOG_DIR/slurmctld.log
SLURMD_LOG=$LOG_DIR/slurmd.log
MUNGE_LOG=/var/log/munge/munged.log
STATE_DIR=/var/lib/slurm/slurmctld
SPOOL_DIR=/var/lib/slurm/slurmd
CTLD_PID=/run/slurmctld.pid
SLURMD_PID=/run/slurmd.pid
WAIT_SECONDS=60
# The self-check job may queue behind other jobs on a machine in use.
JOB_WAIT_SECONDS=120

log() { echo "start-slurm: $*" >&2; }

fail() {
    log "$*"
    log "look at: $CTLD_LOG, $SLURMD_LOG, $MUNGE_LOG, $CONF"
    exit 1
}

# True when the process whose id is in pid file $1 is alive.
running() {
    pid=$(cat "$1" 2>/dev/null || true)
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

if [ "$(id -u)" -ne 0 ]; then
    log "must run as root (it installs and starts system daemons)"
    exit 1
fi

# One run at a time: two at once would start two of each daemon. Whatever runs
# on past this script (daemons, anything apt starts) gets descriptor 9
# closed (9>&-), or it would hold the lock for good.
exec 9>/run/lock/outflow-start-slurm.lock
flock -w 300 9 || fail "another start-slurm.sh still holds /run/lock/outflow-start-slurm.lock after 5 min"

# --- packages -----------------------------------------------------------------
if ! command -v slurmctld >/dev/null 2>&1 || ! command -v slurmd >/dev/null 2>&1 \
        || ! command -v sbatch >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
    log "installing slurm-wlm and munge with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    # Recommends would pull in ~40 more packages (docs, X libraries) not needed here.
    install="apt-get install -y -q --no-install-recommends slurm-wlm munge"
    $install >&2 9>&- || { apt-get update -q >&2 && $install >&2 9>&-; }
fi

# --- munge ----------------------------------------------------------------------
# Slurm's daemons and clients authenticate every message through munged. If
# credentials already round-trip (ours, or one the package started), leave it.
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    mkdir -p /etc/munge /var/log/munge /var/lib/munge /run/munge
    if [ ! -s /etc/munge/munge.key ]; then
        log "creating a munge key"
        if command -v mungekey >/dev/null 2>&1; then
            mungekey --create --keyfile=/etc/munge/munge.key
        else
            dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null
        fi
    fi
    # munged runs as root here (--force), and checks that what it reads and
    # writes belongs to its own user and is not open to others.
    chown root:root /etc/munge /etc/munge/munge.key /var/log/munge /var/lib/munge /run/munge
    chmod 0700 /etc/munge /var/log/munge /var/lib/munge
    chmod 0400 /etc/munge/munge.key
    chmod 0755 /run/munge
    log "starting munged"
    # A stale socket or pid file left by a killed munged makes it refuse to start.
    rm -f /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock /run/munge/munged.pid
    munged --force --log-file="$MUNGE_LOG" 9>&- || fail "munged did not start"
    end=$(($(date +%s) + 10))
    until munge -n 2>/dev/null | unmunge >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$end" ] || fail "munge credentials do not round-trip after 10 s"
        sleep 0.5
    done
fi

# --- slurm.conf -----------------------------------------------------------------
# slurmd finds its own node entry by the short host name.
NODE=$(hostname -s)
# At least 8 CPUs, more than a 2-core test machine has, so that tasks asking
# for several cores (the tutorial's `cpus: 5`) run as they would on a real
# cluster node; SlurmdParameters=config_overrides makes slurmd accept it.
CPUS=$(nproc)
[ "$CPUS" -ge 8 ] || CPUS=8
# RealMemory (MiB) a bit below what the machine (or its cgroup) has: slurmd
# drains a node that reports less memory than slurm.conf promises.
MEM_MB=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
for limit in /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes; do
    if [ -r "$limit" ]; then
        l=$(cat "$limit")
        case $l in
            ''|*[!0-9]*) ;;
            *) l=$((l / 1048576)); [ "$l" -ge "$MEM_MB" ] || MEM_MB=$l ;;
        esac
    fi
done
REAL_MEM=$((MEM_MB * 9 / 10))
# Without a default, CR_Core_Memory gives a job that names no --mem the whole
# node's memory, so only one job could run at a time.
DEF_MEM_PER_CPU=$((REAL_MEM / CPUS))

NEW_CONF=$(mktemp)
trap 'rm -f "$NEW_CONF"' EXIT
cat >"$NEW_CONF" <<EOF
# Written by outflow's scripts/start-slurm.sh: a one-node cluster for tests.
ClusterName=outflow
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
# No mail on this test machine (the default /bin/mail is not installed).
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
DefMemPerCPU=$DEF_MEM_PER_CPU
SchedulerType=sched/backfill
# Schedule a submitted job at once (within slurmctld's one-second loop), not
# up to 3 s later (the default batch_sched_delay, meant for sites submitting
# thousands of jobs a second): each stage of a test's workflow waited for it.
SchedulerParameters=batch_sched_delay=0
ReturnToService=2
# No accounting: no slurmdbd, so sacct has nothing to read.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# Short timeouts: a test should see a dead daemon or a cancelled job quickly.
SlurmctldTimeout=30
SlurmdTimeout=30
MessageTimeout=10
InactiveLimit=0
KillWait=2
Waittime=0
# Finished jobs stay visible to scontrol/squeue for a minute (there is no sacct).
MinJobAge=60
StateSaveLocation=$STATE_DIR
SlurmdSpoolDir=$SPOOL_DIR
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$CTLD_LOG
SlurmdLogFile=$SLURMD_LOG
SlurmctldDebug=info
SlurmdDebug=info
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$REAL_MEM State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF

mkdir -p /etc/slurm "$LOG_DIR" "$STATE_DIR" "$SPOOL_DIR"
CHANGED=no
if ! cmp -s "$NEW_CONF" "$CONF"; then
    log "writing $CONF"
    cp "$NEW_CONF" "$CONF"
    chmod 0644 "$CONF"
    CHANGED=yes
fi

# --- daemons --------------------------------------------------------------------
# A new configuration (node size, timeouts) needs both daemons restarted.
if [ "$CHANGED" = yes ]; then
    for pidfile in "$SLURMD_PID" "$CTLD_PID"; do
        # Read the id once: the daemon removes its pid file as it exits.
        pid=$(cat "$pidfile" 2>/dev/null || true)
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            log "stopping $(basename "$pidfile" .pid) to load the new configuration"
            kill "$pid" 2>/dev/null || true
            end=$(($(date +%s) + 20))
            while kill -0 "$pid" 2>/dev/null; do
                [ "$(date +%s)" -lt "$end" ] || fail "$(basename "$pidfile" .pid) did not stop within 20 s"
                sleep 0.5
            done
        fi
    done
fi

# Both daemons fork into the background themselves (setsid), so they outlive
# this script and whoever called it.
if ! running "$CTLD_PID"; then
    log "starting slurmctld (log: $CTLD_LOG)"
    slurmctld 9>&- || fail "slurmctld did not start"
fi
if ! running "$SLURMD_PID"; then
    log "starting slurmd (log: $SLURMD_LOG)"
    slurmd 9>&- || fail "slurmd did not start"
fi

# --- wait for an idle node ------------------------------------------------------
node_state() { sinfo -h -N -n "$NODE" -o '%T' 2>/dev/null | head -n 1; }
end=$(($(date +%s) + WAIT_SECONDS))
while :; do
    state=$(node_state)
    case $state in
        idle|mixed|allocated|completing) break ;;
        # A node left down or drained by an earlier run (e.g. a reboot while
        # jobs ran) comes back once its slurmd answers.
        down*|drain*) scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    [ "$(date +%s)" -lt "$end" ] \
        || fail "node $NODE not idle after ${WAIT_SECONDS} s (sinfo says '${state:-no answer}')"
    sleep 0.5
done
log "node $NODE is $state ($CPUS CPUs, ${REAL_MEM} MiB)"

# --- self-check: a two-CPU job runs to completion -------------------------------
JOB=$(timeout 30 sbatch --parsable --job-name=outflow-selfcheck --cpus-per-task=2 \
    --chdir=/tmp --output=/dev/null --wrap true) || fail "sbatch refused the self-check job"
JOB=${JOB%%;*}
end=$(($(date +%s) + JOB_WAIT_SECONDS))
while :; do
    state=$(scontrol show job "$JOB" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
    case $state in
        COMPLETED) break ;;
        FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE)
            fail "self-check job $JOB ended $state" ;;
    esac
    if [ "$(date +%s)" -ge "$end" ]; then
        scancel "$JOB" 2>/dev/null || true
        fail "self-check job $JOB not completed after ${JOB_WAIT_SECONDS} s (state '${state:-unknown}')"
    fi
    sleep 0.5
done
log "self-check job $JOB completed"
echo ok
