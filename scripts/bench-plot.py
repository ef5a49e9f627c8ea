#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Draw the bench's ratios: bench-plot.py BENCH_JSON OUT_PREFIX.

One bar per case with a peer: mempager's time over the peer's (below 1.0
mempager is faster), its 95% interval as an error bar, a line at 1.0 and the
case's target as a mark. Writes OUT_PREFIX.svg and OUT_PREFIX.png with
gnuplot (the data and the gnuplot script beside them, to redraw by hand).
"""
import json
import os
import subprocess
import sys


def rows(bench):
    """(label, ratio, low, high, target or None) per case with a ratio."""
    out = []
    for c in bench["cases"]:
        if c.get("ratio") is None:
            continue
        lo, hi = c.get("ratio_ci95") or (c["ratio"], c["ratio"])
        out.append((f'{c["id"]} {c["name"]}', c["ratio"], lo, hi,
                    c.get("target")))
    return out


def script(data, prefix, title, n):
    """The gnuplot program drawing @data into both pictures."""
    plot = (f'plot "{data}" using 0:2:(0.6):xtic(1) with boxes fs solid 0.5 '
            f'lc rgb "#4682b4" title "mempager / peer (median)", \\\n'
            f'     "" using 0:2:3:4 with yerrorbars lc rgb "black" ps 0 '
            f'title "95% interval", \\\n'
            f'     "" using 0:5 with points pt 9 ps 1.5 lc rgb "#c00000" '
            f'title "target", \\\n'
            f'     1 with lines dt 2 lc rgb "gray40" title "1.0: as fast"\n')
    common = f"""set title "{title}" noenhanced
set ylabel "time ratio, mempager / peer (lower is better)"
set yrange [0:*]
set xrange [-0.6:{n - 0.4}]
set xtics rotate by -40 left noenhanced
set datafile missing "-"
set key outside top center horizontal
set grid ytics
set bmargin 14
"""
    return (common +
            f'set terminal svg size 1100,600 dynamic\n'
            f'set output "{prefix}.svg"\n' + plot +
            f'set terminal png size 1100,600\n'
            f'set output "{prefix}.png"\n' + plot)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: bench-plot.py BENCH_JSON OUT_PREFIX")
    with open(sys.argv[1]) as f:
        bench = json.load(f)
    prefix = sys.argv[2]
    rs = rows(bench)
    if not rs:
        sys.exit("bench-plot: no ratio in " + sys.argv[1])
    data = prefix + ".dat"
    with open(data, "w") as f:
        for label, ratio, lo, hi, target in rs:
            t = "-" if target is None else f"{target:.2f}"
            f.write(f'"{label}" {ratio:.3f} {lo:.3f} {hi:.3f} {t}\n')
    title = (f'mempager bench: kernel {bench["kernel"]}, '
             f'{bench["rounds"]} rounds, 95% intervals by bootstrap')
    gp = prefix + ".gp"
    with open(gp, "w") as f:
        f.write(script(os.path.basename(data), os.path.basename(prefix),
                       title, len(rs)))
    subprocess.run(["gnuplot", os.path.basename(gp)], check=True,
                   cwd=os.path.dirname(os.path.abspath(gp)))


if __name__ == "__main__":
    main()
