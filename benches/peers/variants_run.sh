#!/usr/bin/env bash
# Side-by-side timing of one step of each consensus variant at (N, d) = (1000, 20), one
# thread: CBXpy 1.0.4 (variants_cbxpy_timing.py, polar_cbxpy_timing.py) against meanfield
# (the criterion bench benches/benches/cbo.rs, groups `cbo/variants_rastrigin` and
# `cbo/polar_rastrigin`, release build), alternated variant by variant so that both sides
# see the same load, --runs times. Writes JSON lines (both sides; ours = criterion's
# median of the step) to target/peers-variants/timings.jsonl (and as one array,
# timings.json) and a Markdown table of the fastest median per side and the ratio
# CBXpy / ours to target/peers-variants/table.md (also printed). `cargo xtask peers`
# runs it as the suite `variants`.
#
# Usage: benches/peers/variants_run.sh [--runs K]   (CBO_VENV: a venv with cbx==1.0.4)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
runs=3
[ "${1:-}" = "--runs" ] && runs="$2"
venv="${CBO_VENV:-target/peers-cbo-venv}"
if [ ! -x "$venv/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "cbx==1.0.4"
fi
py="$venv/bin/python"
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 RAYON_NUM_THREADS=1
bench="$(cargo bench -p meanfield-benches --bench cbo --no-run --message-format=json 2>/dev/null |
  "$py" -c 'import json,sys
for l in sys.stdin:
    r = json.loads(l)
    if r.get("reason") == "compiler-artifact" and r.get("executable") and r["target"]["name"] == "cbo":
        print(r["executable"])')"
[ -x "$bench" ] || { echo "variants_run.sh: the cbo bench did not build" >&2; exit 1; }
out="target/peers-variants"
mkdir -p "$out"
: >"$out/timings.jsonl"
# Our side: one criterion run of the variant's bench, its median in seconds.
ours() {
  local group="$1" id="$2" variant="$3"
  CRITERION_HOME="$root/$out/criterion" "$bench" --bench --warm-up-time 1 \
    --measurement-time 3 "^cbo/$group/$id/N=1000,d=20\$" >/dev/null 2>&1
  "$py" - "$root/$out/criterion/cbo_$group/$id/N=1000,d=20/new/estimates.json" "$variant" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["median"]["point_estimate"] * 1e-9
print(json.dumps({"impl": "meanfield", "variant": sys.argv[2], "n": 1000, "d": 20,
                  "median_s": m, "source": "criterion median"}))
PY
}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for run in $(seq 1 "$runs"); do
  for v in memory pso cbs covariance mirror drift hypersurface; do
    "$py" benches/peers/variants_cbxpy_timing.py --variant "$v" >>"$out/timings.jsonl"
    ours variants_rastrigin "$v" "$v" >>"$out/timings.jsonl"
  done
  "$py" benches/peers/polar_cbxpy_timing.py | "$py" -c 'import json,sys
r = json.loads(sys.stdin.read()); r["variant"] = "polar"; print(json.dumps(r))' >>"$out/timings.jsonl"
  ours polar_rastrigin Sequential polar >>"$out/timings.jsonl"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$py" - "$out" <<'PY'
import collections, json, sys
out = sys.argv[1]
rows = [json.loads(line) for line in open(f"{out}/timings.jsonl")]
best = collections.defaultdict(dict)
for r in rows:
    side = "ours" if r.get("impl") == "meanfield" else "cbxpy"
    best[r["variant"]][side] = min(best[r["variant"]].get(side, 1e9), r["median_s"])
lines = ["| variant | CBXpy 1.0.4 s/step | ours s/step | CBXpy / ours |", "|---|---|---|---|"]
for v, b in best.items():
    lines.append(f"| {v} | {b['cbxpy']:.3e} | {b['ours']:.3e} | {b['cbxpy'] / b['ours']:.1f}× |")
open(f"{out}/table.md", "w").write("\n".join(lines) + "\n")
json.dump(rows, open(f"{out}/timings.json", "w"), indent=1)
print("\n".join(lines))
PY
