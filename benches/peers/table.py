#!/usr/bin/env python3
"""Merges the JSON of mfld_numpy.py and peer_timing into the comparison table.

Usage: table.py NUMPY.json [NUMPY.json ...] -- RUST.json [RUST.json ...]
(several files per side: run.sh interleaves the two implementations scheme by scheme
and may repeat the whole sweep; a configuration measured in several files keeps the
minimum of each timing, the run least disturbed by other processes). Prints a Markdown
table on stdout; standard library only.
"""

import json
import sys


def load(paths):
    rows, meta = {}, {}
    for path in paths:
        with open(path) as f:
            doc = json.load(f)
        meta = doc
        for r in doc["results"]:
            key = (r["scheme"], r["n"], r["d"])
            old = rows.get(key)
            if old is None:
                rows[key] = dict(r)
                continue
            for field, value in r.items():
                if field.endswith("per_step") or "_per_step_" in field:
                    if value is not None and (old.get(field) is None or value < old[field]):
                        old[field] = value
    return rows, meta


def fmt(v):
    return "n/a" if v is None else f"{v:.3e}"


def ratio(a, b):
    return "n/a" if a is None or b is None or b <= 0 else f"{a / b:.2f}x"


def main(argv):
    if "--" not in argv:
        sys.exit(__doc__)
    cut = argv.index("--")
    numpy, npmeta = load(argv[:cut])
    ours, rsmeta = load(argv[cut + 1 :])
    threads = rsmeta.get("threads", "?")
    print(
        f"| scheme | N | d | numpy s/step | ours 1 thread | ours {threads} threads "
        f"| ratio 1 thread | ratio {threads} threads | ratio CPU time, 1 thread |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for key, r in ours.items():
        p = numpy.get(key)
        if p is None:
            continue
        scheme, n, d = key
        np_wall, np_cpu = p["seconds_per_step"], p.get("cpu_seconds_per_step")
        one, all_ = r["seconds_per_step_1_thread"], r["seconds_per_step_all_threads"]
        one_cpu = r.get("cpu_seconds_per_step_1_thread")
        print(
            f"| {scheme} | {n} | {d} | {fmt(np_wall)} | {fmt(one)} | {fmt(all_)} "
            f"| {ratio(np_wall, one)} | {ratio(np_wall, all_)} | {ratio(np_cpu, one_cpu)} |"
        )
    print()
    print(
        f"ratio = NumPy seconds per step / ours (> 1: we are faster). NumPy {npmeta.get('numpy')}"
        f" on Python {npmeta.get('python')} (BLAS threads: {npmeta.get('blas_threads', 'default')}); wall times are medians of"
        f" {rsmeta.get('repeats')} blocks of about {rsmeta.get('block_secs')} s"
        f" (the fastest such median when several runs were merged)."
    )


if __name__ == "__main__":
    main(sys.argv[1:])
