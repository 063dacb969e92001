#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need, builds, runs every test project, and ends with one
# line "N passed, N failed, N skipped". Exits non-zero on a build error, any failure, or when no test ran.
set -uo pipefail
cd "$(dirname "$0")"
root=$(pwd)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

need_apt=()
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null 2>&1 || need_apt+=(postgresql)
if [ -d Dashboard/ClientApp ] && ! command -v chromium >/dev/null 2>&1; then need_apt+=(chromium); fi
# The InfluxDB sink's tests write to a real VictoriaMetrics, which speaks the InfluxDB v2 write API.
command -v victoria-metrics >/dev/null 2>&1 || [ -x /usr/bin/victoria-metrics ] || need_apt+=(victoria-metrics)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing: ${need_apt[*]}"
  as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null \
    || { echo "could not install ${need_apt[*]}"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
fi

if [ -f Dashboard/ClientApp/package.json ]; then
  echo "== building the dashboard web UI"
  (cd Dashboard/ClientApp && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent) \
    || { echo "dashboard web UI build failed"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
fi

echo "== building"
if ! dotnet build Automator.sln -c Release -nologo -v quiet; then
  echo "build failed"
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi

results="$root/TestResults/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$results"
# The integration tests' shared PostgreSQL is stopped at process exit, which a test host ended by the runner may
# skip: each cluster a test process starts is listed here and stopped below whatever happened.
export AUTOMATOR_TEST_CLUSTERS="$results/clusters.txt"
# Likewise each time-series server a test starts: its process (and the server under it) is ended below.
export AUTOMATOR_TEST_PROCESSES="$results/processes.txt"
stop_test_processes() {
  [ -f "$AUTOMATOR_TEST_PROCESSES" ] || return 0
  while read -r pid; do
    [ -n "$pid" ] || continue
    # Only a process that is still one of ours: a pid may have been reused since.
    ps -o args= -p "$pid" 2>/dev/null | grep -q victoria-metrics || continue
    pkill -KILL -P "$pid" 2>/dev/null || true
    kill -KILL "$pid" 2>/dev/null || true
  done < "$AUTOMATOR_TEST_PROCESSES"
}
stop_test_clusters() {
  [ -f "$AUTOMATOR_TEST_CLUSTERS" ] || return 0
  local pg_ctl
  pg_ctl=$(ls /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V | tail -n 1)
  [ -n "$pg_ctl" ] || pg_ctl=$(command -v pg_ctl || true)
  [ -n "$pg_ctl" ] || return 0
  while read -r data; do
    [ -n "$data" ] && [ -f "$data/postmaster.pid" ] || continue
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1; else "$pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1; fi
    rm -rf "$(dirname "$data")" 2>/dev/null || true
  done < "$AUTOMATOR_TEST_CLUSTERS"
}
status=0
for project in tests/Automator.UnitTests tests/Automator.GrainTests tests/Automator.IntegrationTests; do
  name=$(basename "$project")
  echo "== $name"
  dotnet test "$project" -c Release --no-build -nologo \
    --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=normal" \
    --results-directory "$results" >"$results/$name.log" 2>&1
  rc=$?
  # Each failure with its message (the lines between "Error Message" and "Stack Trace") and the project's frames.
  awk '/^[ \t]+(Failed|Skipped) /{print; next} /Error Message/{m=1; print; next} /Stack Trace/{m=0; next}
       m{print; next} /^[ \t]+at Automator|Total tests|^[ \t]+(Passed|Failed|Skipped):/{print}' "$results/$name.log" | head -n 200 || true
  [ "$rc" -ne 0 ] && { status=1; tail -n 30 "$results/$name.log"; }
done

stop_test_clusters
stop_test_processes

passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(echo "$counters" | sed -n 's/.* passed="\([0-9]*\)".*/\1/p'); f=$(echo "$counters" | sed -n 's/.* failed="\([0-9]*\)".*/\1/p')
  e=$(echo "$counters" | sed -n 's/.* error="\([0-9]*\)".*/\1/p'); t=$(echo "$counters" | sed -n 's/.* timeout="\([0-9]*\)".*/\1/p')
  n=$(echo "$counters" | sed -n 's/.* notExecuted="\([0-9]*\)".*/\1/p')
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0} + ${e:-0} + ${t:-0})); skipped=$((skipped + ${n:-0}))
done

echo "$passed passed, $failed failed, $skipped skipped"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
  exit 1
fi
