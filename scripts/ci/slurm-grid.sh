#!/usr/bin/env bash
# CI on a real Slurm (issue 16). Installs Debian's Slurm (22.05: slurmctld, slurmd, slurm-client),
# starts a one-node cluster as root without systemd (AuthType=auth/none, proctrack/linuxproc, task/none,
# select/cons_tres, the node line from `slurmd -C`, spool and state in a temporary folder), writes the
# tiny-model 8-cell grid, submits it with `bellm-bench slurm --submit` as a 3-task job array plus the
# merge job that depends on it, waits (bounded), checks that the shards shared one embedding cache and
# that the merged report (LaTeX and PDF figures included) and every cell equal a local unsharded
# `bellm-bench run` with nothing shared. Then it resubmits the array and checks that nothing reruns
# (every finished cell passes its run-identity check).
# It stops the daemons it started, also on failure. If Slurm cannot start, the step fails.
#   bash scripts/ci/slurm-grid.sh [SHARED_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
shared=$(cd "${1:-../shared}" && pwd)
export DEBIAN_FRONTEND=noninteractive
t_start=$(date +%s)

say() { echo "slurm-grid: $*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

work=$(mktemp -d /tmp/bb-slurm-ci.XXXXXX)
export SLURM_CONF=$work/etc/slurm.conf
daemon_pids=()
jobs_submitted=()

cleanup() {
  local rc=$?
  set +e
  if [ ${#jobs_submitted[@]} -gt 0 ] && [ ${#daemon_pids[@]} -gt 0 ]; then scancel "${jobs_submitted[@]}" 2>/dev/null; fi
  if [ ${#daemon_pids[@]} -gt 0 ]; then
    scontrol shutdown >/dev/null 2>&1
    for _ in $(seq 1 30); do
      alive=0
      for p in "${daemon_pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
      [ $alive -eq 0 ] && break
      sleep 0.5
    done
    for p in "${daemon_pids[@]}"; do kill -0 "$p" 2>/dev/null && { say "daemon $p still running: SIGTERM"; kill "$p"; sleep 1; kill -0 "$p" 2>/dev/null && kill -9 "$p"; }; done
    say "stopped slurmctld and slurmd (pids ${daemon_pids[*]})"
  fi
  if [ $rc -ne 0 ]; then
    for f in "$work"/log/*.log "$work"/out-slurm/slurm/logs/*; do
      [ -f "$f" ] && { say "---- $f (last 40 lines)"; tail -n 40 "$f" >&2; }
    done
  fi
  rm -rf "$work"
  say "$([ $rc -eq 0 ] && echo passed || echo FAILED) in $(( $(date +%s) - t_start )) s"
  exit $rc
}
trap cleanup EXIT

# 1. Slurm from Debian.
if ! command -v slurmctld >/dev/null 2>&1 || ! command -v slurmd >/dev/null 2>&1 || ! command -v sbatch >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || fail "slurmctld/slurmd/sbatch are missing and apt-get is not available to install them"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq || fail "apt-get update failed"
  $SUDO apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client >/dev/null || fail "apt-get could not install slurmctld slurmd slurm-client"
fi
[ "$(id -u)" -eq 0 ] || fail "the daemons must start as root (this CI runs as root)"
say "$(slurmctld -V), installed after $(( $(date +%s) - t_start )) s"

# 2. A one-node cluster: every path in the temporary folder, no cgroups, no munge.
mkdir -p "$work"/{etc,spool,state,log}
node_line=$(slurmd -C | head -n 1 | sed -E 's/ RealMemory=[0-9]+//')
node=$(sed -E 's/^NodeName=([^ ]+).*/\1/' <<<"$node_line")
[ -n "$node" ] || fail "slurmd -C printed no NodeName: $(slurmd -C 2>&1 | head -n 2)"
port=$(( 20000 + RANDOM % 20000 ))
cat >"$SLURM_CONF" <<EOF
ClusterName=bellmci
SlurmctldHost=$node(127.0.0.1)
AuthType=auth/none
CredType=cred/none
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=3600
$node_line NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=ci Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -c >>"$work/log/start.log" 2>&1 || fail "slurmctld did not start: $(tail -n 5 "$work/log/slurmctld.log" 2>/dev/null)"
for _ in $(seq 1 20); do [ -s "$work/slurmctld.pid" ] && break; sleep 0.5; done
[ -s "$work/slurmctld.pid" ] || fail "slurmctld wrote no pid file"
daemon_pids+=("$(cat "$work/slurmctld.pid")")
slurmd >>"$work/log/start.log" 2>&1 || fail "slurmd did not start: $(tail -n 5 "$work/log/slurmd.log" 2>/dev/null)"
for _ in $(seq 1 20); do [ -s "$work/slurmd.pid" ] && break; sleep 0.5; done
[ -s "$work/slurmd.pid" ] || fail "slurmd wrote no pid file"
daemon_pids+=("$(cat "$work/slurmd.pid")")
state=""
for _ in $(seq 1 60); do
  state=$(sinfo -h -n "$node" -o %T 2>/dev/null || true)
  [ "$state" = idle ] && break
  sleep 0.5
done
[ "$state" = idle ] || fail "the node did not become idle (state '${state:-none}'; sinfo: $(sinfo 2>&1 | tail -n 2 | tr '\n' ' '))"
say "cluster up: node $node idle, port $port"

# 3. The tiny-model grid: 6 sts cells (adapter x billmStartIndex) and 2 degradation sweeps.
exp=$work/grid.yaml
cat >"$exp" <<EOF
name: ci-slurm-grid
data_dir: $shared/data/senteval
tasks: [STSBenchmark, SICKRelatedness]
device: cpu
sentence_stats: false
runs:
  - model: $shared/fixtures/tiny-llama
    lora: [null, $shared/fixtures/tiny-lora]
    billm_start_index: [null, 2, 3]
  - degrade:
      model: $shared/fixtures/tiny-llama
      lora: [null, $shared/fixtures/tiny-lora]
      layers: 0..4
baseline: {lora: null, billm_start_index: null}
EOF
bb=(node "$repo/bin/bellm-bench.js")

# 4. Submit the array (3 tasks) and the merge job that depends on it.
submitted=$("${bb[@]}" slurm "$exp" --out "$work/out-slurm" --shards 3 --gpus-per-task 0 --time 00:20:00 --submit --quiet)
echo "$submitted" >&2
array=$(sed -nE 's/^submitted array job ([0-9]+) .*merge job ([0-9]+).*/\1/p' <<<"$submitted")
merge=$(sed -nE 's/^submitted array job ([0-9]+) .*merge job ([0-9]+).*/\2/p' <<<"$submitted")
[ -n "$array" ] && [ -n "$merge" ] || fail "bellm-bench slurm --submit printed no job ids"
jobs_submitted+=("$array" "$merge")
grep -q -- '--dependency=afterok' "$work/out-slurm/slurm/submit.sh" || fail "submit.sh does not make the merge depend on the array"
scontrol show job "$merge" | grep -q "Dependency=afterok:${array}" || fail "the merge job $merge does not depend on array job $array: $(scontrol show job "$merge" | grep -o 'Dependency=[^ ]*')"

wait_jobs() {  # wait_jobs LIMIT_SECONDS JOBID...
  local limit=$1; shift
  local t0; t0=$(date +%s)
  local ids; ids=$(IFS=,; echo "$*")
  while [ -n "$(squeue -h -j "$ids" 2>/dev/null)" ]; do
    [ $(( $(date +%s) - t0 )) -lt "$limit" ] || fail "jobs $ids still queued or running after ${limit} s: $(squeue -j "$ids" | tr '\n' ' ')"
    sleep 2
  done
}
job_state() { scontrol show job "$1" | grep -oE 'JobState=[A-Z_]+' | cut -d= -f2 | sort -u | tr '\n' ' ' | sed 's/ $//'; }
wait_jobs 900 "$array" "$merge"
[ "$(job_state "$array")" = COMPLETED ] || fail "array job $array ended as $(job_state "$array")"
[ "$(job_state "$merge")" = COMPLETED ] || fail "merge job $merge ended as $(job_state "$merge")"
ntasks=$(ls "$work/out-slurm/slurm/logs/" | grep -c -E "^bb-ci-slurm-grid-${array}_[0-9]+\.out$" || true)
[ "$ntasks" -eq 3 ] || fail "expected logs of 3 array tasks (%A_%a), found $ntasks"
for f in "$work/out-slurm/slurm/logs/bb-ci-slurm-grid-${array}"_*.out; do
  grep -qE '^experiment ci-slurm-grid: 8 cells; shard [123]/3 runs' "$f" || fail "$f: the task did not run its shard of 8 cells"
done
[ -f "$work/out-slurm/report/report.json" ] || fail "the merge job wrote no report"
for f in tables/grid.tex tables/grid-deltas.tex figures/degradation.pdf figures.tex; do
  [ -f "$work/out-slurm/report/$f" ] || fail "the merged report has no $f"
done
# The shards shared one embedding cache (safe for concurrent writers): DIR/cache/v2, each array task
# writing its own segments into the same cache keys.
cache=$work/out-slurm/cache
[ -d "$cache/v2" ] || fail "no embedding cache in $cache"
[ "$(ls "$cache")" = v2 ] || fail "the shards did not share one cache: $cache holds $(ls "$cache" | tr '\n' ' ')"
writers=$(find "$cache/v2" -name '*.seg' | sed -E 's#^.*/[^/]*-([0-9]+)-[0-9]+-[0-9a-f]+\.seg$#\1#' | sort -u | wc -l)
[ "$writers" -ge 2 ] || fail "the cache holds segments of $writers process(es); expected the array tasks to share it"
say "the 3 array tasks shared one embedding cache ($writers writer processes)"
say "array $array (3 tasks) and merge $merge completed after $(( $(date +%s) - t_start )) s"

# 5. The same grid, locally and unsharded; the merged report must equal it.
"${bb[@]}" run "$exp" --out "$work/out-local" --quiet >/dev/null
node --import=tsx scripts/ci/compare-grid-outputs.ts "$work/out-local" "$work/out-slurm"

# 6. A resubmitted array redoes nothing that is done.
again=$(bash "$work/out-slurm/slurm/submit.sh")
array2=$(sed -nE 's/^array job ([0-9]+) .*merge job ([0-9]+).*/\1/p' <<<"$again")
merge2=$(sed -nE 's/^array job ([0-9]+) .*merge job ([0-9]+).*/\2/p' <<<"$again")
[ -n "$array2" ] && [ -n "$merge2" ] || fail "submit.sh printed no job ids: $again"
jobs_submitted+=("$array2" "$merge2")
wait_jobs 300 "$array2" "$merge2"
[ "$(job_state "$merge2")" = COMPLETED ] || fail "the second merge job ended as $(job_state "$merge2")"
for f in "$work/out-slurm/slurm/logs/bb-ci-slurm-grid-${array2}"_*.out; do
  grep -qE '^0 jobs run, [0-9]+ already done, 0 failed' "$f" || fail "$f: a resubmitted array task ran cells again: $(grep -E 'jobs run' "$f")"
done
say "resubmitted array $array2 ran nothing again"
