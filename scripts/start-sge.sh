#!/bin/sh
# Start a one-node Grid Engine with its DRMAA library for outflow's tests
# (Debian, as root, no systemd).
#
# Idempotent: installs the gridengine packages if missing (debconf preseeded,
# so nothing asks), starts sge_qmaster and sge_execd, lets root run jobs, adds
# this host as an execution host, a queue `all.q` with one slot per core, and a
# parallel environment `smp` (`-pe smp N`: N slots on one host). When all that
# is already in place it only verifies. It then runs a 2-slot job with qsub and
# another through Python's `drmaa` package as a self-check.
#
# The last lines printed are the environment a DRMAA client needs (VAR=value,
# no spaces), e.g. for a shell that will run one:
#
#     export $(scripts/start-sge.sh | grep '^[A-Z_]*=')
#
# Mind that DRMAA_LIBRARY_PATH in the environment makes `outflow --cluster
# slurm` submit through DRMAA, and LD_PRELOAD applies to every program started.
#
# On failure it names the logs to read and exits non-zero.
set -eu

SGE_ROOT=/var/lib/gridengine
SGE_CELL=default
export SGE_ROOT SGE_CELL
DRMAA_LIBRARY_PATH=/usr/lib/gridengine-drmaa/lib/libdrmaa.so.1.0
# The DRMAA library is linked against jemalloc, whose thread-local storage
# does not fit in what glibc keeps free for libraries loaded later: `import
# drmaa` (a dlopen) fails with "libjemalloc.so.2: cannot allocate memory in
# static TLS block" unless jemalloc is preloaded when the process starts.
JEMALLOC=/lib/x86_64-linux-gnu/libjemalloc.so.2
QUEUE=all.q
PE=smp
WAIT_SECONDS=60
# The self-check jobs may queue behind other jobs on a machine in use.
JOB_WAIT_SECONDS=120
QMASTER_LOG=/var/spool/gridengine/qmaster/messages
EXECD_SPOOL=/var/spool/gridengine/execd

log() { echo "start-sge: $*" >&2; }

fail() {
    log "$*"
    log "look at: $QMASTER_LOG, $EXECD_SPOOL/<host>/messages, $SGE_ROOT/$SGE_CELL/common/host_aliases, 'qstat -f -explain a'"
    exit 1
}

if [ "$(id -u)" -ne 0 ]; then
    log "must run as root (it installs and starts system daemons)"
    exit 1
fi

# One run at a time: two at once would start two of each daemon. Whatever runs
# on past this script (daemons, anything apt starts) gets descriptor 9
# closed (9>&-), or it would hold the lock for good.
exec 9>/run/lock/outflow-start-sge.lock
flock -w 300 9 || fail "another start-sge.sh still holds /run/lock/outflow-start-sge.lock after 5 min"

HOST=$(hostname)

# --- host names -----------------------------------------------------------------
# Grid Engine names a host by resolving its address back to a name. When this
# host's name shares a loopback address with others (e.g. "127.0.0.1
# localhost" and "127.0.0.1 vm"), the reverse lookup gives "localhost" and the
# daemons disagree about who they are. host_aliases joins those names, with
# `hostname` first as the one Grid Engine uses.
host_aliases_line() {
    addr=$(getent ahostsv4 "$HOST" 2>/dev/null | awk 'NR == 1 { print $1 }')
    case $addr in
        127.*) ;;
        *) return 0 ;;  # a real address resolves back to one name
    esac
    names=$(awk -v h="$HOST" '
        $1 ~ /^127\./ { for (i = 2; i <= NF && $i !~ /^#/; i++) if ($i != h && !seen[$i]++) printf " %s", $i }
    ' /etc/hosts)
    [ -z "$names" ] || echo "$HOST$names"
}
write_host_aliases() {
    line=$(host_aliases_line)
    file=$SGE_ROOT/$SGE_CELL/common/host_aliases
    if [ -n "$line" ] && [ "$(cat "$file" 2>/dev/null)" != "$line" ]; then
        log "writing $file: $line"
        mkdir -p "$(dirname "$file")"
        echo "$line" >"$file"
        chmod 0644 "$file"
        return 0
    fi
    return 1
}

# --- packages -------------------------------------------------------------------
PACKAGES="gridengine-master gridengine-exec gridengine-client gridengine-drmaa1.0 libjemalloc2"
missing=""
for p in $PACKAGES; do
    dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
    log "installing$missing with apt-get"
    # The packages' postinst creates the cell and its spool from these answers
    # (only on a first install).
    debconf-set-selections <<EOF
gridengine-common shared/gridengineconfig boolean true
gridengine-common shared/gridenginecell string $SGE_CELL
gridengine-common shared/gridenginemaster string $HOST
EOF
    # Aliases first: where the packages may start the daemons, they need them.
    write_host_aliases || true
    export DEBIAN_FRONTEND=noninteractive
    install="apt-get install -y -q --no-install-recommends $PACKAGES"
    $install >&2 9>&- || { apt-get update -q >&2 && $install >&2 9>&-; }
fi
[ -r "$DRMAA_LIBRARY_PATH" ] || fail "$DRMAA_LIBRARY_PATH missing after install"
[ -r "$JEMALLOC" ] || fail "$JEMALLOC missing after install"

# A package installed before without the preseeding has no cell: make it now,
# the way the master package's postinst does.
if [ ! -e /var/spool/gridengine/spooldb/sge ]; then
    log "initialising the cell $SGE_CELL"
    mkdir -p /var/spool/gridengine/qmaster/job_scripts /var/spool/gridengine/spooldb
    chown sgeadmin:sgeadmin /var/spool/gridengine/qmaster /var/spool/gridengine/qmaster/job_scripts \
        /var/spool/gridengine/spooldb "$SGE_ROOT/$SGE_CELL" "$SGE_ROOT/$SGE_CELL/common"
    su -s /bin/sh -c "/usr/share/gridengine/scripts/init_cluster $SGE_ROOT $SGE_CELL /var/spool/gridengine/spooldb sgeadmin" sgeadmin >&2
fi
# Clients find the qmaster through this file.
if [ "$(cat "$SGE_ROOT/$SGE_CELL/common/act_qmaster" 2>/dev/null)" != "$HOST" ]; then
    echo "$HOST" >"$SGE_ROOT/$SGE_CELL/common/act_qmaster"
fi

# --- daemons --------------------------------------------------------------------
# The init scripts start each daemon with start-stop-daemon; the daemons fork
# into the background themselves, so they outlive this script. sge_qmaster
# writes its pid into its spool directory, not where the init script looks
# (so the init script can neither see nor stop a running one): stop by pid.
QMASTER_PID=/var/spool/gridengine/qmaster/qmaster.pid
EXECD_PID=/var/run/gridengine/execd.pid
# True when the pid file $1 names a live sge_* process (not a reused pid).
alive() {
    pid=$(cat "$1" 2>/dev/null || true)
    [ -n "$pid" ] && case $(cat "/proc/$pid/comm" 2>/dev/null) in sge_*) true ;; *) false ;; esac
}
qmaster_answers() { timeout 20 qconf -sh >/dev/null 2>&1; }
stop_daemon() {  # $1: name, $2: pid file
    # Read the id once: the daemon may remove its pid file as it exits.
    pid=$(cat "$2" 2>/dev/null || true)
    [ -n "$pid" ] || return 0
    log "stopping $1"
    kill "$pid" 2>/dev/null || return 0
    end=$(($(date +%s) + 30))
    while kill -0 "$pid" 2>/dev/null; do
        [ "$(date +%s)" -lt "$end" ] || fail "$1 (pid $pid) did not stop within 30 s"
        sleep 0.5
    done
}
start_execd() {
    log "starting sge_execd (log: $EXECD_SPOOL/<host>/messages)"
    /etc/init.d/gridengine-exec start >&2 9>&- || fail "sge_execd did not start"
}

if write_host_aliases; then
    # Daemons that started with other names must re-read them.
    if alive "$EXECD_PID"; then stop_daemon sge_execd "$EXECD_PID"; fi
    if alive "$QMASTER_PID"; then stop_daemon sge_qmaster "$QMASTER_PID"; fi
fi

# Start sge_qmaster whenever none runs (also when one was still shutting down
# as we looked), until one answers.
end=$(($(date +%s) + WAIT_SECONDS))
until qmaster_answers; do
    if ! alive "$QMASTER_PID"; then
        log "starting sge_qmaster (log: $QMASTER_LOG)"
        /etc/init.d/gridengine-master start >&2 9>&- || fail "sge_qmaster did not start"
    fi
    [ "$(date +%s)" -lt "$end" ] || fail "sge_qmaster does not answer qconf after ${WAIT_SECONDS} s"
    sleep 1
done

# --- configuration --------------------------------------------------------------
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Value of attribute $2 in the object printed by `qconf $1` ($1 split into words).
attr() { qconf $1 2>/dev/null | awk -v k="$2" '$1 == k { $1 = ""; sub(/^ +/, ""); print; exit }'; }

# This host may administer and submit.
qconf -sh 2>/dev/null | grep -qx "$HOST" || qconf -ah "$HOST" >&2
qconf -ss 2>/dev/null | grep -qx "$HOST" || qconf -as "$HOST" >&2

# Jobs run as root here: the default refuses users and groups below 1000.
# sge_execd reads this at its start, so it is restarted after a change.
RESTART_EXECD=no
if [ "$(attr '-sconf global' min_uid)" != 0 ] || [ "$(attr '-sconf global' min_gid)" != 0 ]; then
    log "allowing jobs as root (min_uid 0, min_gid 0)"
    # -Mconf takes the configuration's name from the file's name.
    mkdir -p "$TMP/conf"
    qconf -sconf global | sed -e 's/^min_uid .*/min_uid 0/' -e 's/^min_gid .*/min_gid 0/' >"$TMP/conf/global"
    qconf -Mconf "$TMP/conf/global" >&2
    RESTART_EXECD=yes
fi

# Schedule within a second of a submission or a finished job, not every 15 s.
if [ "$(attr -ssconf schedule_interval)" != "0:0:1" ] || [ "$(attr -ssconf flush_submit_sec)" != 1 ] \
        || [ "$(attr -ssconf flush_finish_sec)" != 1 ]; then
    log "scheduling every second"
    qconf -ssconf | sed -e 's/^schedule_interval .*/schedule_interval 0:0:1/' \
        -e 's/^flush_submit_sec .*/flush_submit_sec 1/' \
        -e 's/^flush_finish_sec .*/flush_finish_sec 1/' \
        -e 's/^job_load_adjustments .*/job_load_adjustments NONE/' \
        -e 's/^load_adjustment_decay_time .*/load_adjustment_decay_time 0:0:0/' >"$TMP/sconf"
    qconf -Msconf "$TMP/sconf" >&2
fi

# This host executes jobs.
if ! qconf -sel 2>/dev/null | grep -qx "$HOST"; then
    log "adding execution host $HOST"
    cat >"$TMP/exechost" <<EOF
hostname              $HOST
load_scaling          NONE
complex_values        NONE
user_lists            NONE
xuser_lists           NONE
projects              NONE
xprojects             NONE
usage_scaling         NONE
report_variables      NONE
EOF
    qconf -Ae "$TMP/exechost" >&2
fi

# At least 8 slots (see start-slurm.sh: tasks asking for several cores must
# be able to run on this small test machine).
SLOTS=$(nproc)
[ "$SLOTS" -ge 8 ] || SLOTS=8

# `-pe smp N`: N slots, all on one host.
if [ "$(attr "-sp $PE" allocation_rule)" != '$pe_slots' ]; then
    log "configuring parallel environment $PE"
    cat >"$TMP/$PE" <<EOF
pe_name            $PE
slots              9999
user_lists         NONE
xuser_lists        NONE
start_proc_args    NONE
stop_proc_args     NONE
allocation_rule    \$pe_slots
control_slaves     FALSE
job_is_first_task  TRUE
urgency_slots      min
accounting_summary FALSE
qsort_args         NONE
EOF
    if qconf -sp "$PE" >/dev/null 2>&1; then qconf -Mp "$TMP/$PE" >&2; else qconf -Ap "$TMP/$PE" >&2; fi
fi

# One queue on this host with a slot per core. No load threshold: a busy test
# machine must not put the queue in alarm state and hold jobs back.
if [ "$(attr "-sq $QUEUE" hostlist)" != "$HOST" ] || [ "$(attr "-sq $QUEUE" slots)" != "$SLOTS" ] \
        || [ "$(attr "-sq $QUEUE" pe_list)" != "$PE" ] \
        || [ "$(attr "-sq $QUEUE" load_thresholds)" != NONE ]; then
    log "configuring queue $QUEUE ($SLOTS slots on $HOST, pe $PE)"
    cat >"$TMP/$QUEUE" <<EOF
qname                 $QUEUE
hostlist              $HOST
seq_no                0
load_thresholds       NONE
suspend_thresholds    NONE
nsuspend              1
suspend_interval      00:05:00
priority              0
min_cpu_interval      00:05:00
processors            UNDEFINED
qtype                 BATCH INTERACTIVE
ckpt_list             NONE
pe_list               $PE
rerun                 FALSE
slots                 $SLOTS
tmpdir                /tmp
shell                 /bin/sh
prolog                NONE
epilog                NONE
shell_start_mode      posix_compliant
starter_method        NONE
suspend_method        NONE
resume_method         NONE
terminate_method      NONE
notify                00:00:60
owner_list            NONE
user_lists            NONE
xuser_lists           NONE
subordinate_list      NONE
complex_values        NONE
projects              NONE
xprojects             NONE
calendar              NONE
initial_state         default
s_rt                  INFINITY
h_rt                  INFINITY
s_cpu                 INFINITY
h_cpu                 INFINITY
s_fsize               INFINITY
h_fsize               INFINITY
s_data                INFINITY
h_data                INFINITY
s_stack               INFINITY
h_stack               INFINITY
s_core                INFINITY
h_core                INFINITY
s_rss                 INFINITY
h_rss                 INFINITY
s_vmem                INFINITY
h_vmem                INFINITY
EOF
    if qconf -sq "$QUEUE" >/dev/null 2>&1; then qconf -Mq "$TMP/$QUEUE" >&2; else qconf -Aq "$TMP/$QUEUE" >&2; fi
fi

if [ "$RESTART_EXECD" = yes ] && alive "$EXECD_PID"; then
    log "restarting sge_execd to read min_uid/min_gid"
    stop_daemon sge_execd "$EXECD_PID"
fi
if ! alive "$EXECD_PID"; then
    start_execd
fi

# --- wait for a usable queue ----------------------------------------------------
# `qstat -f` lists the queue instance with its states in the sixth column:
# empty when usable, letters (u unknown, a alarm, E error, d disabled...) otherwise.
end=$(($(date +%s) + WAIT_SECONDS))
while :; do
    line=$(qstat -f -q "$QUEUE@$HOST" 2>/dev/null | awk -v q="$QUEUE@$HOST" '$1 == q')
    if [ -n "$line" ]; then
        states=$(echo "$line" | awk '{ print $6 }')
        case $states in
            '') break ;;
            *E*) qmod -c "$QUEUE@$HOST" >/dev/null 2>&1 || true ;;  # error left by an old run
            *d*) qmod -e "$QUEUE@$HOST" >/dev/null 2>&1 || true ;;
        esac
    fi
    [ "$(date +%s)" -lt "$end" ] \
        || fail "queue $QUEUE@$HOST not usable after ${WAIT_SECONDS} s (qstat -f: '${line:-not listed}')"
    sleep 0.5
done
log "queue $QUEUE@$HOST is usable"

# --- self-checks ----------------------------------------------------------------
# The Python for the DRMAA check (it needs the `drmaa` package): $PYTHON, made
# absolute before leaving the caller's directory.
PYTHON=${PYTHON:-python3}
case $PYTHON in
    /*) ;;
    */*) PYTHON=$PWD/$PYTHON ;;
esac
cd /tmp
# -sync y waits for the job and exits with its exit status.
if ! timeout "$JOB_WAIT_SECONDS" qsub -b y -sync y -pe "$PE" 2 -N outflow-selfcheck \
        -o /dev/null -e /dev/null true >&2; then
    qdel outflow-selfcheck >/dev/null 2>&1 || true  # left queued when timeout stopped qsub
    fail "the qsub self-check job (-pe $PE 2) did not run to exit status 0 within ${JOB_WAIT_SECONDS} s"
fi
log "qsub self-check passed"

if DRMAA_LIBRARY_PATH=$DRMAA_LIBRARY_PATH LD_PRELOAD=$JEMALLOC timeout "$JOB_WAIT_SECONDS" "$PYTHON" - "$PE" <<'EOF' >&2
import sys

import drmaa

with drmaa.Session() as s:
    jt = s.createJobTemplate()
    jt.remoteCommand = "/bin/true"
    jt.nativeSpecification = f"-pe {sys.argv[1]} 2"
    jt.outputPath = ":/dev/null"
    jt.errorPath = ":/dev/null"
    jt.jobName = "outflow-selfcheck"
    job = s.runJob(jt)
    info = s.wait(job, drmaa.Session.TIMEOUT_WAIT_FOREVER)
    s.deleteJobTemplate(jt)
if not (info.hasExited and info.exitStatus == 0):
    sys.exit(f"DRMAA job {job}: exited={info.hasExited} status={info.exitStatus}")
print(f"DRMAA job {job} exited 0 (drmaa {drmaa.__version__})")
EOF
then
    log "DRMAA self-check passed"
else
    qdel outflow-selfcheck >/dev/null 2>&1 || true
    fail "the DRMAA self-check with $PYTHON failed (its error is above; it needs the Python package drmaa)"
fi

echo "SGE_ROOT=$SGE_ROOT"
echo "SGE_CELL=$SGE_CELL"
echo "DRMAA_LIBRARY_PATH=$DRMAA_LIBRARY_PATH"
echo "LD_PRELOAD=$JEMALLOC"
