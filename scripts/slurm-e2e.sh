#!/usr/bin/env bash
# End-to-end check of the Slurm deployment (deploy/slurm) on a private one-node Slurm cluster.
#
# What it does:
#   1. installs slurmctld, slurmd, slurm-client and munge with apt-get when they are missing
#      (needs root), and builds target/release/forecast (cargo build --release);
#   2. splits tests/data/big_tech_long.csv into one CSV per ticker and adds three single-series test
#      files: a watchlist of 7 series in a temp dir;
#   3. runs the unsharded reference in one process each: train --each, predict --model models
#      --csv ... --format json --log, backtest --compare-local --format json;
#   4. starts munged, slurmctld and slurmd as its own children (config in the temp dir, free
#      ports, no accounting) and submits deploy/slurm/submit-nightly.sh three times with
#      $TASKS-task arrays (one array, each task trains its share when due and forecasts it, then
#      the merge): night 1 FORCE_TRAIN=1; night 2 TRAIN_WEEKDAY=never with every model there (no
#      task trains); night 3 the same with one model deleted (only its task trains); then
#      deploy/slurm/submit-backtest.sh with COMPARE_LOCAL=1 and $BT_TASKS tasks;
#   5. checks that every job COMPLETED with exit 0, that the array's models are byte for byte the
#      reference's, that each night's merged predictions.json equals the reference's exactly and
#      the main ledger the reference's but for run_time (nights 2 and 3 add no row), that tasks
#      trained exactly when due, and that the merged backtest.json equals the reference but for
#      "seconds"; prints PASS/FAIL per check and the wall times of the arrays against one process;
#   6. always (trap on EXIT) cancels its jobs, stops the daemons it started (by PID, after checking
#      /proc/PID/comm) and removes the temp dir (KEEP=1 keeps it and says where).
# Exits 0 only when every check passed.
#
# It takes about three minutes on 2 cores (plus the release build and, the first time, ~15 s of
# apt-get). It is NOT part of .ci/run: it installs system packages and starts daemons.
#
#   bash scripts/slurm-e2e.sh
#   FORECAST_E2E_DRY=1 bash scripts/slurm-e2e.sh   # a Python stand-in for forecast, no build:
#                                                  # checks the cluster and the deploy scripts
#   SMOKE=1 bash scripts/slurm-e2e.sh              # only the cluster and an `sbatch --wrap` array
#
# Settings (environment): TASKS (4) and BT_TASKS (4) array sizes, FOLDS (3), FLAGS (model flags for
# train and backtest: "--epochs 40 --seq-len 20 --hidden 32 --patience 40 --seed 7"; "--epochs 20
# --seq-len 10 --hidden 16" is a few seconds in all), DEADLINE (seconds to wait for each
# submission, 600), AUTH (munge, or none: auth/none without munged), KEEP (1 keeps the temp dir).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TASKS=${TASKS:-4}
BT_TASKS=${BT_TASKS:-4}
FOLDS=${FOLDS:-3}
FLAGS=${FLAGS:---epochs 40 --seq-len 20 --hidden 32 --patience 40 --seed 7}
DEADLINE=${DEADLINE:-600}
AUTH=${AUTH:-munge}
KEEP=${KEEP:-0}
DRY=${FORECAST_E2E_DRY:-0}
SMOKE=${SMOKE:-0}
# Client calls never hang longer than this.
CLIENT_TIMEOUT=20

# The reference runs must not pick up a shard from the environment this script runs in.
unset SLURM_ARRAY_TASK_ID SLURM_ARRAY_TASK_COUNT SLURM_ARRAY_TASK_MIN SLURM_ARRAY_TASK_MAX \
    SLURM_ARRAY_TASK_STEP SLURM_ARRAY_JOB_ID JOB_COMPLETION_INDEX FORECAST_SHARD_COUNT SLURM_CONF

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# --- state for the teardown ---------------------------------------------------------------------
TMP=
JOBS=()
DAEMONS=() # "pid:comm"
FAILS=0
CHECKS=0

# Stop one daemon we started: only if the PID is still that program (PIDs are reused).
stop_pid() {
    local pid=$1 comm=$2 i
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 50; i++)); do
        [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]] || break
        sleep 0.1
    done
    if [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]]; then
        log "$comm ($pid) ignored SIGTERM: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# slurmstepd processes of this cluster: they keep our slurmd.log open.
our_stepds() {
    local dir
    for dir in /proc/[0-9]*; do
        [[ $(cat "$dir/comm" 2>/dev/null) == slurmstepd ]] || continue
        readlink "$dir"/fd/* 2>/dev/null | grep -qF "$TMP/cluster/" && echo "${dir#/proc/}"
    done
    return 0
}

cleanup() {
    local rc=$? i pid entry
    set +e
    trap - EXIT INT TERM
    if ((${#JOBS[@]})) && [[ -n ${SLURM_CONF:-} ]]; then
        timeout "$CLIENT_TIMEOUT" scancel "${JOBS[@]}" 2>/dev/null
        for ((i = 0; i < 40; i++)); do
            [[ -z $(timeout "$CLIENT_TIMEOUT" squeue -h -o %i 2>/dev/null) ]] && break
            sleep 0.25
        done
    fi
    # Daemons in reverse order of start: slurmd, slurmctld, munged.
    for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
        entry=${DAEMONS[i]}
        stop_pid "${entry%%:*}" "${entry#*:}"
    done
    if [[ -n $TMP ]]; then
        for pid in $(our_stepds); do
            log "leftover slurmstepd $pid: SIGKILL"
            kill -KILL "$pid" 2>/dev/null
        done
        if [[ $KEEP == 1 ]]; then
            log "kept $TMP"
        else
            rm -rf "$TMP"
        fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1. packages and binary ---------------------------------------------------------------------
install_slurm() {
    local pkg missing=()
    for pkg in slurmctld slurmd slurm-client munge; do
        dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0
    ((EUID == 0)) || die "needs ${missing[*]} installed (apt-get needs root)"
    log "installing ${missing[*]}"
    # policy-rc.d / no systemd: the packages' services do not start; we start our own daemons.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 ||
        { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends "${missing[@]}" >&2; }
}
install_slurm
command -v python3 >/dev/null || die "needs python3"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/slurm-e2e.XXXXXX")
# munged's socket folder must be reachable by everyone, and slurmd execs job scripts from here.
chmod 755 "$TMP"
mkdir -p "$TMP/bin" "$TMP/prices" "$TMP/ref" "$TMP/nightly" "$TMP/backtest" "$TMP/cluster"

if [[ $DRY == 1 ]]; then
    BIN=$TMP/bin/forecast
    log "FORECAST_E2E_DRY=1: a Python stand-in for forecast"
    cat >"$BIN" <<'PY'
#!/usr/bin/env python3
"""Stand-in for forecast: the shard/train/predict/backtest/merge/score interface, fake numbers."""
import csv, glob, hashlib, json, os, sys, time

def flag(args, name, default=None):
    return args[args.index(name) + 1] if name in args else default

def shard(args):
    if "--shard" in args:
        k, n = map(int, flag(args, "--shard").split("/"))
    elif os.environ.get("SLURM_ARRAY_TASK_ID") and os.environ.get("SLURM_ARRAY_TASK_COUNT"):
        step = int(os.environ.get("SLURM_ARRAY_TASK_STEP", "1"))
        k = (int(os.environ["SLURM_ARRAY_TASK_ID"]) - int(os.environ.get("SLURM_ARRAY_TASK_MIN", "0"))) // step + 1
        n = int(os.environ["SLURM_ARRAY_TASK_COUNT"])
    elif os.environ.get("JOB_COMPLETION_INDEX") and os.environ.get("FORECAST_SHARD_COUNT"):
        k, n = int(os.environ["JOB_COMPLETION_INDEX"]) + 1, int(os.environ["FORECAST_SHARD_COUNT"])
    else:
        return None
    print(f"shard {k}/{n}", file=sys.stderr)
    return k, n

def mine(units, sh):
    return units if sh is None else [u for i, u in enumerate(units) if i % sh[1] == sh[0] - 1]

def num(*parts):
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:8], 16) / 2**32 * 100

def train(args):
    files = sorted(glob.glob(flag(args, "--csv")))
    ids = sorted(os.path.splitext(os.path.basename(f))[0] for f in files)
    byid = {os.path.splitext(os.path.basename(f))[0]: os.path.abspath(f) for f in files}
    out = flag(args, "--out-dir")
    for sid in mine(ids, shard(args)):
        time.sleep(0.3)
        body = json.dumps({"series_id": sid, "csv": byid[sid], "flags": flag(args, "--seed")})
        tmp = os.path.join(out, f".{sid}.tmp")
        open(tmp, "w").write(body)
        os.replace(tmp, os.path.join(out, sid + ".safetensors"))

def predict(args):
    # predict --model DIR --csv GLOB: the watchlist's series sorted by id, each with DIR/ID.safetensors.
    files = sorted(glob.glob(flag(args, "--csv")))
    byid = {os.path.splitext(os.path.basename(f))[0]: os.path.abspath(f) for f in files}
    rows, objs, rc = [], [], 0
    for sid in mine(sorted(byid), shard(args)):
        p = os.path.join(flag(args, "--model"), sid + ".safetensors")
        if not os.path.exists(p):
            objs.append({"id": sid, "csv": byid[sid], "model": p, "error": "no model", "exit_code": 4})
            rc = 4
            continue
        h = hashlib.sha256(open(p, "rb").read()).hexdigest()[:16]
        obj = {"id": sid, "csv": byid[sid], "model": p, "as_of": "2022-12-29", "close": num(h, "close")}
        objs.append(obj)
        rows.append(["2026-01-01T00:00:00Z", p, h, "2022-12-29", "2022-12-30", 1, obj["close"], sid])
    if flag(args, "--format", "table") == "jsonl":
        for o in objs:
            print(json.dumps(o))
    else:
        print(json.dumps({"series": objs}, indent=2))
    log = flag(args, "--log")
    if log:
        new = not os.path.exists(log) or os.path.getsize(log) == 0
        with open(log, "a", newline="") as f:
            w = csv.writer(f)
            if new:
                w.writerow(["run_time", "model", "model_hash", "as_of", "date", "step", "close", "series"])
            w.writerows(rows)
    sys.exit(rc)

def backtest(args):
    files = sorted(glob.glob(flag(args, "--csv")))
    folds = int(flag(args, "--folds", "5"))
    units = [("global", k) for k in range(folds)]
    if "--compare-local" in args:
        units += [(os.path.basename(f), k) for f in files for k in range(folds)]
    sh = shard(args)
    done = [{"unit": u, "fold": k, "rmse": num(u, k, flag(args, "--seed"))} for u, k in mine(units, sh)]
    time.sleep(0.3 * len(done))
    if sh is None:
        done.sort(key=lambda u: (u["unit"], u["fold"]))
        print(json.dumps({"folds": done, "seconds": 1.5}, indent=2))
    else:
        print(json.dumps({"kind": "backtest-shard", "shard": sh[0], "of": sh[1], "units": done,
                          "seconds": 0.5}))

def merge(args):
    files = [a for a in args if not a.startswith("-") and a not in (flag(args, "--out"), flag(args, "--format"))]
    first = open(files[0]).read()
    if first.startswith("run_time"):
        rows, seen = [], set()
        out = flag(args, "--out")
        if out and os.path.exists(out) and os.path.getsize(out):
            rows = list(csv.reader(open(out)))[1:]
            seen = {tuple(r[2:]) for r in rows}
        for f in files:
            for r in list(csv.reader(open(f)))[1:]:
                if tuple(r[2:]) not in seen:
                    seen.add(tuple(r[2:]))
                    rows.append(r)
        rows.sort(key=lambda r: r[-1])
        header = first.splitlines()[0].split(",")
        with (open(out, "w", newline="") if out else sys.stdout) as f:
            csv.writer(f).writerows([header] + rows)
    elif '"backtest-shard"' in first:
        recs = [json.load(open(f)) for f in files]
        units = sorted((u for r in recs for u in r["units"]), key=lambda u: (u["unit"], u["fold"]))
        if flag(args, "--format") == "table":
            for u in units:
                print(u["unit"], u["fold"], round(u["rmse"], 4))
        else:
            print(json.dumps({"folds": units, "seconds": 1.5}, indent=2))
    else:
        objs = [json.loads(l) for f in files for l in open(f) if l.strip()]
        print(json.dumps({"series": sorted(objs, key=lambda o: o["id"])}, indent=2))

def score(args):
    print(f"{sum(1 for _ in open(flag(args, '--log'))) - 1} forecasts, nothing to score yet")

cmd, args = sys.argv[1], sys.argv[2:]
{"train": train, "predict": predict, "backtest": backtest, "merge": merge, "score": score}[cmd](args)
PY
    chmod 755 "$BIN"
elif [[ $SMOKE != 1 ]]; then
    log "cargo build --release"
    (cd "$REPO" && cargo build --release -q) || die "cargo build --release failed"
    BIN=$REPO/target/release/forecast
    cp "$BIN" "$TMP/bin/forecast"
    BIN=$TMP/bin/forecast # a rebuild during the run does not change the binary under the jobs
fi

# --- 2. the watchlist ---------------------------------------------------------------------------
data=$REPO/tests/data
[[ -f $data/big_tech_long.csv ]] || die "missing $data/big_tech_long.csv"
# Long format: "stock symbol,Date,Open,...": one file per ticker, without the ticker column.
awk -F, -v dir="$TMP/prices" '
    NR == 1 { header = $0; sub(/^[^,]*,/, "", header); next }
    { file = dir "/" $1 ".csv"; line = $0; sub(/^[^,]*,/, "", line)
      if (!(file in seen)) { print header > file; seen[file] = 1 }
      print line > file }' "$data/big_tech_long.csv"
cp "$data/MSFT_alphavantage_daily.csv" "$TMP/prices/MSFT_AV.csv"
cp "$data/NVDA_stooq_en.csv" "$TMP/prices/NVDA_STOOQ.csv"
cp "$data/XOM_kaggle-sp500-5yr.csv" "$TMP/prices/XOM.csv"
PRICES="$TMP/prices/*.csv"
NSERIES=$(compgen -G "$PRICES" | wc -l)
((NSERIES == 7)) || die "expected 7 series in $TMP/prices, made $NSERIES"
read -ra flags <<<"$FLAGS"

# --- 3. the unsharded reference -----------------------------------------------------------------
if [[ $SMOKE != 1 ]]; then
    cd "$TMP/ref"
    mkdir -p models
    log "reference: train --each + predict --model models --csv of $NSERIES series in one process"
    t0=$(now)
    "$BIN" train --csv "$PRICES" --each --out-dir models --threads 1 "${flags[@]}" -q >train.txt
    "$BIN" predict --model models --csv "$PRICES" --format json --log ledger.csv --threads 1 -q \
        >predictions.json
    t1=$(now)
    REF_NIGHTLY=$(elapsed "$t0" "$t1")
    log "reference: predict alone (a night without training)"
    "$BIN" predict --model models --csv "$PRICES" --format json --threads 1 -q >/dev/null
    REF_PREDICT=$(elapsed "$t1" "$(now)")
    log "reference: backtest --compare-local --folds $FOLDS"
    t0=$(now)
    "$BIN" backtest --csv "$PRICES" --compare-local --folds "$FOLDS" --threads 1 "${flags[@]}" \
        --format json -q >backtest.json
    REF_BACKTEST=$(elapsed "$t0" "$(now)")
    cd "$TMP"
fi

# --- 4. the cluster -----------------------------------------------------------------------------
C=$TMP/cluster
mkdir -p "$C/state" "$C/spool" "$C/log" "$C/run"
HOST=$(hostname -s)
CPUS=$(slurmd -C 2>/dev/null | sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' | head -1)
[[ -n $CPUS ]] || die "slurmd -C did not say how many CPUs there are"
read -r CTLD_PORT SLURMD_PORT < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s:
    x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')

if [[ $AUTH == munge ]]; then
    M=$C/munge
    mkdir -p "$M/etc" "$M/run" "$M/lib" "$M/log"
    chmod 700 "$M/etc" "$M/lib" "$M/log"
    chmod 755 "$M" "$M/run"
    dd if=/dev/urandom of="$M/etc/munge.key" bs=1024 count=1 status=none
    chmod 600 "$M/etc/munge.key"
    MUNGE_SOCKET=$M/run/munge.socket.2
    munged -F --key-file="$M/etc/munge.key" --socket="$MUNGE_SOCKET" --pid-file="$M/run/munged.pid" \
        --log-file="$M/log/munged.log" --seed-file="$M/lib/munged.seed" </dev/null >"$M/log/stdout" 2>&1 &
    DAEMONS+=("$!:munged")
    for ((i = 0; i < 50; i++)); do
        [[ -S $MUNGE_SOCKET ]] && break
        sleep 0.1
    done
    [[ -S $MUNGE_SOCKET ]] || die "munged did not start: $(tail -3 "$M/log/munged.log" "$M/log/stdout" 2>&1)"
    AUTH_CONF="AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET"
else
    AUTH_CONF="AuthType=auth/none
CredType=cred/none"
fi

cat >"$C/slurm.conf" <<EOF
ClusterName=e2e
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
$AUTH_CONF
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$C/state
SlurmdSpoolDir=$C/spool
SlurmctldPidFile=$C/run/slurmctld.pid
SlurmdPidFile=$C/run/slurmd.pid
SlurmctldLogFile=$C/log/slurmctld.log
SlurmdLogFile=$C/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=batch_sched_delay=0
MailProg=/bin/true
MinJobAge=3600
ReturnToService=2
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS State=UNKNOWN
PartitionName=e2e Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$C/slurm.conf

t0=$(now)
slurmctld -D -f "$SLURM_CONF" </dev/null >"$C/log/slurmctld.stdout" 2>&1 &
DAEMONS+=("$!:slurmctld")
slurmd -D -f "$SLURM_CONF" -N "$HOST" </dev/null >"$C/log/slurmd.stdout" 2>&1 &
DAEMONS+=("$!:slurmd")
state=
for ((i = 0; i < 120; i++)); do
    state=$(timeout "$CLIENT_TIMEOUT" sinfo -h -N -o %T 2>/dev/null || true)
    [[ $state == idle ]] && break
    sleep 0.25
done
[[ $state == idle ]] || die "node not idle after 30 s (state '$state'): $(tail -5 "$C/log/slurmd.log" 2>&1)"
log "cluster up in $(elapsed "$t0" "$(now)") s: $HOST, $CPUS CPUs, ports $CTLD_PORT/$SLURMD_PORT, $AUTH"

# wait_jobs SECONDS JOB...: until every job (every array task) is in a final state.
wait_jobs() {
    local deadline=$((SECONDS + $1)) states ids
    shift
    ids=$(IFS=,; echo "$*")
    while :; do
        states=$(timeout "$CLIENT_TIMEOUT" squeue -h -t all -j "$ids" -o %T 2>/dev/null || true)
        if [[ -n $states ]] && ! grep -qvE \
            '^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|PREEMPTED|BOOT_FAIL|DEADLINE)$' \
            <<<"$states"; then
            return 0
        fi
        if ((SECONDS >= deadline)); then
            log "timed out after $1 s waiting for $ids: $(echo $states)"
            return 1
        fi
        sleep 0.25
    done
}

check() { # check NAME STATUS [DETAIL]
    CHECKS=$((CHECKS + 1))
    if [[ $2 == 0 ]]; then
        printf 'PASS  %s%s\n' "$1" "${3:+ ($3)}"
    else
        FAILS=$((FAILS + 1))
        printf 'FAIL  %s%s\n' "$1" "${3:+: $3}"
    fi
}

# check_jobs NAME EXPECTED_TASKS JOB: every task COMPLETED with exit code 0:0.
check_jobs() {
    local name=$1 want=$2 job=$3 lines bad n
    lines=$(timeout "$CLIENT_TIMEOUT" scontrol -o show job "$job" 2>/dev/null || true)
    n=$(grep -c 'JobId=' <<<"$lines" || true)
    bad=$(grep -v 'JobState=COMPLETED .*ExitCode=0:0' <<<"$lines" |
        grep -o 'JobId=[0-9]* \(ArrayJobId=[0-9]* ArrayTaskId=[0-9]* \)\?\|JobState=[A-Z_]*\|ExitCode=[0-9:]*' |
        tr '\n' ' ' || true)
    if ((n == want)) && [[ -z $bad ]]; then
        check "$name: $n job(s) COMPLETED, exit 0" 0
    else
        check "$name: $n of $want job(s) COMPLETED with exit 0" 1 "${bad:-job records missing}"
    fi
}

# Submitted ids from a submit script's "array_job=ID" / "merge_job=ID" lines.
job_id() { sed -n "s/^$1=\([0-9]*\)$/\1/p" <<<"$2"; }

if [[ $SMOKE == 1 ]]; then
    t0=$(now)
    job=$(timeout "$CLIENT_TIMEOUT" sbatch --parsable --array=0-3 -o "$TMP/wrap-%a.out" \
        --wrap 'sleep 2; echo task $SLURM_ARRAY_TASK_ID of $SLURM_ARRAY_TASK_COUNT min $SLURM_ARRAY_TASK_MIN step $SLURM_ARRAY_TASK_STEP')
    JOBS+=("$job")
    wait_jobs "$DEADLINE" "$job" || true
    log "4-task sleep 2 array: $(elapsed "$t0" "$(now)") s"
    check_jobs "sbatch --wrap array" 4 "$job"
    out=$(cat "$TMP"/wrap-*.out 2>/dev/null | sort)
    s=0
    [[ $out == "$(for i in 0 1 2 3; do echo "task $i of 4 min 0 step 1"; done)" ]] || s=1
    check "array tasks see SLURM_ARRAY_TASK_ID/COUNT/MIN/STEP" $s "$(echo $out)"
    echo "$CHECKS checks, $FAILS failed"
    exit $((FAILS > 0))
fi

# --- 5. the nightly run on the cluster ----------------------------------------------------------
# submit DIR SCRIPT TASKS [ENV=VALUE...]: deploy/slurm/SCRIPT, run in DIR with a TASKS-task
# array; sets array_job, merge_job and the wall times ARRAY_S (submit to the last task's end) and
# MERGE_S.
submit() {
    local dir=$1 script=$2 tasks=$3 ids t0 t1
    shift 3
    cd "$dir"
    t0=$(now)
    ids=$(env FORECAST="$BIN" PRICES="$PRICES" THREADS=1 "$@" \
        timeout 60 "$REPO/deploy/slurm/$script" --array="0-$((tasks - 1))")
    array_job=$(job_id array_job "$ids")
    merge_job=$(job_id merge_job "$ids")
    [[ -n $array_job && -n $merge_job ]] || die "$script printed no job ids: $ids"
    JOBS+=("$array_job" "$merge_job")
    wait_jobs "$DEADLINE" "$array_job" || true
    t1=$(now)
    wait_jobs "$DEADLINE" "$merge_job" || true
    ARRAY_S=$(elapsed "$t0" "$t1")
    MERGE_S=$(elapsed "$t1" "$(now)")
    cd "$TMP"
}

# submit_nightly OUT_DIR [ENV=VALUE...]: submit-nightly.sh in $TMP/nightly.
submit_nightly() {
    local out=$1
    shift
    submit "$TMP/nightly" submit-nightly.sh "$TASKS" MODELS=models OUT="$out" LEDGER=ledger.csv \
        EXTRA="${flags[*]}" PREDICT_EXTRA=-q "$@"
}

# The models' names, sizes and modification times: what a night that trains nothing leaves alone.
model_stamps() { (cd "$TMP/nightly/models" && stat -c '%n %s %y' -- *.safetensors 2>&1); }
IDS=($(compgen -G "$PRICES" | sed 's#.*/##; s/\.[^.]*$//' | LC_ALL=C sort))

log "nightly 1: submit-nightly.sh --array=0-$((TASKS - 1)), FORCE_TRAIN=1"
submit_nightly out FORCE_TRAIN=1
night1=("$array_job" "$merge_job")
ARRAY_NIGHT1=$ARRAY_S MERGE_NIGHT1=$MERGE_S
cp "$TMP/nightly/ledger.csv" "$TMP/nightly/ledger-night1.csv" 2>/dev/null || true
cp -r "$TMP/nightly/models" "$TMP/nightly/models-night1"

# A night off: every model is there, so no task trains; the rerun adds nothing to the ledger.
log "nightly 2: TRAIN_WEEKDAY=never, every model there"
stamps=$(model_stamps)
submit_nightly out2 TRAIN_WEEKDAY=never FORCE_TRAIN=0
night2=("$array_job" "$merge_job")
ARRAY_NIGHT2=$ARRAY_S MERGE_NIGHT2=$MERGE_S
[[ $(model_stamps) == "$stamps" ]] && NIGHT2_UNTOUCHED=0 || NIGHT2_UNTOUCHED=1

# A night off with one model gone: only the task whose share holds it trains (its whole share).
GONE=${IDS[2 % NSERIES]}
GONE_TASK=$((2 % NSERIES % TASKS))
rm -f "$TMP/nightly/models/$GONE.safetensors"
log "nightly 3: TRAIN_WEEKDAY=never, $GONE.safetensors deleted (task $GONE_TASK's share)"
submit_nightly out3 TRAIN_WEEKDAY=never FORCE_TRAIN=0
night3=("$array_job" "$merge_job")
ARRAY_NIGHT3=$ARRAY_S MERGE_NIGHT3=$MERGE_S

# --- 6. the backtest on the cluster -------------------------------------------------------------
log "backtest: submit-backtest.sh --array=0-$((BT_TASKS - 1)), COMPARE_LOCAL=1, --folds $FOLDS"
submit "$TMP/backtest" submit-backtest.sh "$BT_TASKS" OUT=out COMPARE_LOCAL=1 \
    EXTRA="--folds $FOLDS ${flags[*]} -q"
bt_array=$array_job bt_merge=$merge_job
ARRAY_BACKTEST=$ARRAY_S MERGE_BACKTEST=$MERGE_S

# --- 7. checks ----------------------------------------------------------------------------------
echo
for n in 1 2 3; do
    eval "night=(\"\${night$n[@]}\")"
    check_jobs "night $n array" "$TASKS" "${night[0]}"
    check_jobs "night $n merge" 1 "${night[1]}"
done
check_jobs "backtest array" "$BT_TASKS" "$bt_array"
check_jobs "backtest merge" 1 "$bt_merge"

# trained_tasks OUT_DIR: the task ids whose log says they trained, sorted.
trained_tasks() {
    grep -l '^task [0-9]*: training' "$TMP/nightly/$1"/logs/forecast-nightly-*_*.out 2>/dev/null |
        sed 's/.*_\([0-9]*\)\.out$/\1/' | sort -n | tr '\n' ' ' | sed 's/ $//' || true
}
all_tasks=$(seq -s ' ' 0 $((TASKS < NSERIES ? TASKS - 1 : NSERIES - 1)))
got=$(trained_tasks out)
s=0
[[ $got == "$all_tasks" ]] || s=1
check "night 1 (FORCE_TRAIN=1): tasks $all_tasks trained" $s "trained: ${got:-none}"
got=$(trained_tasks out2)
s=0
[[ -z $got && $NIGHT2_UNTOUCHED == 0 ]] || s=1
untouched=untouched
((NIGHT2_UNTOUCHED)) && untouched=changed
check "night 2 (every model there): no task trained, models untouched" $s "trained: ${got:-none}; models $untouched"
got=$(trained_tasks out3)
s=0
[[ $got == "$GONE_TASK" ]] || s=1
grep -q "missing models: $GONE\$" "$TMP/nightly/out3"/logs/forecast-nightly-*_"$GONE_TASK".out 2>/dev/null || s=1
check "night 3 ($GONE.safetensors gone): only task $GONE_TASK trained, for it" $s "trained: ${got:-none}"

cat >"$TMP/compare.py" <<'PY'
"""compare.py json REF GOT [KEY...]: equal but for KEYs anywhere; compare.py ledger REF GOT
[COLUMN...]: the same rows in the same order but for the COLUMNs. Prints the first difference."""
import csv, json, sys

def drop(v, keys):
    if isinstance(v, dict):
        return {k: drop(x, keys) for k, x in v.items() if k not in keys}
    if isinstance(v, list):
        return [drop(x, keys) for x in v]
    return v

def first_difference(a, b, path="$"):
    if type(a) != type(b):
        return f"{path}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k}: only in {'reference' if k in a else 'merged'}"
            d = first_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
    elif isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} vs {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
    elif a != b:
        return f"{path}: {a!r} vs {b!r}"
    return None

kind, ref, got, skip = sys.argv[1], sys.argv[2], sys.argv[3], set(sys.argv[4:])
try:
    if kind == "json":
        a, b = (drop(json.load(open(p)), skip) for p in (ref, got))
        d = first_difference(a, b)
        if d is None and a in ({}, [], {"series": []}):
            d = "empty"
        if d is None:
            series = a.get("series") if "local" not in a else a["local"].get("series")
            errors = [s["id"] for s in a.get("series", []) if "error" in s] if "local" not in a else []
            if errors:
                d = f"the reference has errors: {errors}"
            elif isinstance(series, list):
                print(f"{len(series)} series{', per-series models too' if 'local' in a else ''}", end="")
    else:
        def rows(p):
            r = list(csv.reader(open(p, newline="")))
            keep = [i for i, c in enumerate(r[0]) if c not in skip]
            return [[x[i] for i in keep] for x in r]
        a, b = rows(ref), rows(got)
        d = None
        if len(a) != len(b):
            d = f"{len(a) - 1} reference rows, {len(b) - 1} merged"
        else:
            for i, (x, y) in enumerate(zip(a, b)):
                if x != y:
                    d = f"row {i}: {x} vs {y}"
                    break
        if d is None and len(a) < 2:
            d = "empty"
        if d is None:
            print(f"{len(a) - 1} rows", end="")
except (OSError, ValueError, KeyError, IndexError) as e:
    d = f"{type(e).__name__}: {e}"
if d:
    print(d, end="")
sys.exit(1 if d else 0)
PY
compare() { python3 "$TMP/compare.py" "$@"; }

# same_models DIR: DIR's models are the reference's, byte for byte.
same_models() {
    local n
    n=$(compgen -G "$TMP/ref/models/*.safetensors" | wc -l)
    ((n == NSERIES)) || { echo "$n reference models, not $NSERIES"; return 1; }
    diff <(cd "$TMP/ref/models" && sha256sum -- *.safetensors) <(cd "$1" && sha256sum -- *.safetensors) |
        head -4 | tr '\n' ' '
    return "${PIPESTATUS[0]}"
}
s=0
detail=$(same_models "$TMP/nightly/models-night1") || s=1
check "night 1: the array's models = reference models, byte for byte ($NSERIES files)" $s "$detail"
s=0
detail=$(same_models "$TMP/nightly/models") || s=1
check "night 3: every model = reference, byte for byte ($GONE.safetensors retrained)" $s "$detail"

for n in 1 2 3; do
    out=out$n
    [[ $n == 1 ]] && out=out
    s=0
    detail=$(compare json "$TMP/ref/predictions.json" "$TMP/nightly/$out/predictions.json") || s=1
    check "night $n: merged predictions.json = reference, exactly" $s "$detail"
done

s=0
detail=$(compare ledger "$TMP/ref/ledger.csv" "$TMP/nightly/ledger-night1.csv" run_time) || s=1
check "night 1: main ledger = reference ledger, but run_time" $s "$detail"
s=0
detail=$(compare ledger "$TMP/ref/ledger.csv" "$TMP/nightly/ledger.csv" run_time) || s=1
check "nights 2 and 3 added no ledger row" $s "$detail"

s=0
detail=$(compare json "$TMP/ref/backtest.json" "$TMP/backtest/out/backtest.json" seconds) || s=1
check "merged backtest.json = reference, but seconds" $s "$detail"

echo
echo "wall times: $NSERIES series, ${flags[*]}, --threads 1, $CPUS CPUs, $TASKS/$BT_TASKS-task arrays"
printf '  %-62s %6s s\n' \
    "nightly, one process: train --each; predict --model --csv" "$REF_NIGHTLY" \
    "nightly, $TASKS-task array (train + predict; submit to last task)" "$ARRAY_NIGHT1" \
    "  then the merge job" "$MERGE_NIGHT1" \
    "night off, one process: predict --model --csv" "$REF_PREDICT" \
    "night off, $TASKS-task array (predict only)" "$ARRAY_NIGHT2" \
    "  then the merge job" "$MERGE_NIGHT2" \
    "night 3, $TASKS-task array (one task retrains its share)" "$ARRAY_NIGHT3" \
    "backtest --compare-local --folds $FOLDS, one process" "$REF_BACKTEST" \
    "backtest, $BT_TASKS-task array (submit to last task)" "$ARRAY_BACKTEST" \
    "  then the merge job" "$MERGE_BACKTEST"
echo "$CHECKS checks, $FAILS failed"
if ((FAILS)); then
    for f in "$TMP"/nightly/out*/logs/*.out "$TMP"/backtest/out/logs/*.out; do
        [[ -s $f ]] && { echo "--- $f"; tail -n 15 "$f"; }
    done
    [[ $KEEP == 1 ]] || echo "(KEEP=1 keeps $TMP for a closer look)"
    exit 1
fi
