#!/usr/bin/env bash
# Coverage-guided fuzzing of every decoder and the handler behind it: SharpFuzz instruments the daemon's assemblies,
# Debian's afl++ drives them.
#
#   fuzz.sh list                  the targets
#   fuzz.sh TARGET SECONDS        fuzz one target; last line: execs=N crashes=K
#   fuzz.sh all SECONDS           each target in turn for SECONDS; one "TARGET execs=N crashes=K" line each, then
#                                 the total as the last line
#
# Seeds: conformance/fuzz/seeds/TARGET. Findings (crashes and hangs, each input that caused one) are copied to
# artifacts/fuzz/findings/TARGET; replay one with
#   dotnet conformance/fuzz/bin/Release/net10.0/linux-x64/pm-fuzz.dll replay TARGET FILE
# (the plain build: the instrumented copy in artifacts/fuzz/bin only runs under afl-fuzz)
# and, once fixed, keep it in conformance/fuzz/regressions/TARGET (the unit tests replay every file there).
# Environment: FUZZ_TIMEOUT_MS (default 2000) per input; FUZZ_KEEP=1 resumes from the last run's queue;
# FUZZ_NO_BUILD=1 reuses the last instrumented build (to run targets side by side).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$repo/artifacts/fuzz
bin=$work/bin

build() {
  if [ "${FUZZ_NO_BUILD:-0}" = 1 ] && [ -f "$bin/pm-fuzz.dll" ]; then return; fi
  command -v afl-fuzz >/dev/null || { echo "afl-fuzz is missing: run scripts/deps.sh (Debian's afl++)" >&2; exit 1; }
  (cd "$repo" && dotnet tool restore >/dev/null)
  local fresh=$work/build.$$
  rm -rf "$fresh"; mkdir -p "$work"
  # Built, then copied, rather than published: the daemon's project is a NativeAOT executable when published.
  dotnet build "$here/PortMapper.Fuzz.csproj" -c Release -nologo -v quiet >/dev/null
  cp -r "$here/bin/Release/net10.0/linux-x64" "$fresh"
  # The daemon's own assemblies get the coverage probes; the harness, the runtime and packages do not.
  for dll in PortMapper.Protocols.dll PortMapper.KernelBackend.dll portmapper.dll; do
    (cd "$repo" && dotnet sharpfuzz "$fresh/$dll" >/dev/null)
  done
  rm -rf "$bin"
  mv "$fresh" "$bin"
}

targets() { dotnet "$bin/pm-fuzz.dll" list | awk '{ print $1 }'; }

# Fuzzes one target; prints its stats line.
fuzz() {
  local target=$1 seconds=$2 out=$work/out/$1
  [ -d "$here/seeds/$target" ] || { echo "no seeds for $target" >&2; exit 2; }
  local input=$here/seeds/$target
  if [ "${FUZZ_KEEP:-0}" = 1 ] && [ -d "$out/default/queue" ]; then input=-; else rm -rf "$out"; fi
  mkdir -p "$out"
  # -V: stop after the given time. The target is the dotnet host, not an afl-compiled binary (SKIP_BIN_CHECK);
  # no core dumps are wanted from this machine (MISSING_CRASHES); no UI, no CPU pinning (two runs may share cores).
  AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 \
  AFL_FORKSRV_INIT_TMOUT=30000 AFL_QUIET=1 \
    afl-fuzz -i "$input" -o "$out" -V "$seconds" -t "${FUZZ_TIMEOUT_MS:-2000}" -m none \
      -- dotnet "$bin/pm-fuzz.dll" run "$target" > "$out/afl.log" 2>&1 || {
        echo "afl-fuzz failed for $target; its log:" >&2; tail -20 "$out/afl.log" >&2; exit 1; }
  local stats=$out/default/fuzzer_stats
  local execs crashes hangs
  execs=$(awk -F' *: *' '$1 == "execs_done" { print $2 }' "$stats")
  crashes=$(awk -F' *: *' '$1 == "saved_crashes" || $1 == "unique_crashes" { print $2 }' "$stats")
  hangs=$(awk -F' *: *' '$1 == "saved_hangs" || $1 == "unique_hangs" { print $2 }' "$stats")
  # What the run reached: the share of afl's 64 KiB edge map the target's inputs touched, and the corpus it kept.
  awk -F' *: *' -v t="$target" '$1 == "bitmap_cvg" { c = $2 } $1 == "corpus_count" { n = $2 } $1 == "execs_per_sec" { r = $2 }
    END { printf "%s: coverage %s of the edge map, %s inputs in the corpus, %.0f execs/s\n", t, c, n, r }' "$stats" >&2
  if [ $((crashes + hangs)) -gt 0 ]; then
    mkdir -p "$work/findings/$target"
    find "$out/default/crashes" "$out/default/hangs" -type f -name 'id:*' -exec cp {} "$work/findings/$target/" \;
    echo "$target: $crashes crashing and $hangs hanging inputs saved in $work/findings/$target" >&2
  fi
  echo "$target execs=$execs crashes=$((crashes + hangs))"
}

case "${1:-}" in
  list)
    [ -f "$bin/pm-fuzz.dll" ] || build
    dotnet "$bin/pm-fuzz.dll" list
    ;;
  all)
    [ $# -eq 2 ] || { echo "usage: fuzz.sh all SECONDS" >&2; exit 2; }
    build
    total_execs=0 total_crashes=0
    for target in $(targets); do
      line=$(fuzz "$target" "$2")
      echo "$line"
      total_execs=$((total_execs + $(sed -E 's/.*execs=([0-9]+).*/\1/' <<<"$line")))
      total_crashes=$((total_crashes + $(sed -E 's/.*crashes=([0-9]+).*/\1/' <<<"$line")))
    done
    echo "execs=$total_execs crashes=$total_crashes"
    ;;
  "")
    echo "usage: fuzz.sh list | TARGET SECONDS | all SECONDS" >&2; exit 2
    ;;
  *)
    [ $# -eq 2 ] || { echo "usage: fuzz.sh TARGET SECONDS" >&2; exit 2; }
    build
    targets | grep -qx "$1" || { echo "no target '$1'; fuzz.sh list names them" >&2; exit 2; }
    line=$(fuzz "$1" "$2")
    echo "${line#"$1" }"
    ;;
esac
