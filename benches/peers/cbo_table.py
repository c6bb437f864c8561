#!/usr/bin/env python3
"""Merges cbo_cbxpy.py and cbo_timing JSON files into the Markdown ratio table.

Usage: cbo_table.py cbxpy1.json ... -- rust1.json ...
Per (N, d) and column, the fastest of the given medians is kept.
"""
import json
import sys


def best(files, key):
    out = {}
    for path in files:
        with open(path) as fh:
            for r in json.load(fh)["results"]:
                k = (r["n"], r["d"])
                out[k] = min(out.get(k, float("inf")), r[key])
    return out


def main():
    argv = sys.argv[1:]
    sep = argv.index("--")
    py, rs = argv[:sep], argv[sep + 1:]
    cbx = best(py, "seconds_per_step")
    one = best(rs, "seconds_per_step_1_thread")
    alln = best(rs, "seconds_per_step_all_threads")
    print("| N | d | CBXpy s/step | ours 1 thread | ours all threads | ratio 1 thread | ratio all threads |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for k in sorted(cbx):
        if k not in one:
            continue
        c, a, b = cbx[k], one[k], alln[k]
        print(f"| {k[0]} | {k[1]} | {c:.3e} | {a:.3e} | {b:.3e} | {c / a:.1f}× | {c / b:.1f}× |")


if __name__ == "__main__":
    main()
