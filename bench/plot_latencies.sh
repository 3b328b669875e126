#!/usr/bin/env bash
# Draws the latency distributions cri_pods --latencies wrote (one TSV per runtime) as a PNG:
# for each phase (sequential, concurrent), the share of pods started within a time, pod +
# container (RunPodSandbox + CreateContainer + StartContainer), log scale. Uses Debian's
# gnuplot (gnuplot-nox), installed when missing.
# usage: bench/plot_latencies.sh OUT.png NAME=FILE.tsv [NAME=FILE.tsv...]
set -euo pipefail
out=${1:?usage: $0 OUT.png NAME=FILE.tsv...}
shift
command -v gnuplot >/dev/null ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gnuplot-nox
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
plots=()
for phase in sequential concurrent; do
  lines=()
  for arg in "$@"; do
    name=${arg%%=*} file=${arg#*=}
    # value, cumulative share: the empirical distribution of pod+container
    awk -F'\t' -v p="$phase" '$1 == p {print $5}' "$file" | sort -g |
      awk '{v[NR]=$1} END {for (i = 1; i <= NR; i++) print v[i], i / NR}' \
        > "$tmp/$name-$phase.dat"
    [[ -s $tmp/$name-$phase.dat ]] &&
      lines+=("'$tmp/$name-$phase.dat' using 1:2 with steps linewidth 2 title '$name'")
  done
  ((${#lines[@]})) || continue
  plots+=("set title '$phase: pod + container start'; plot $(IFS=,; echo "${lines[*]}")")
done
{
  echo "set terminal pngcairo size 1100,450 font ',10'"
  echo "set output '$out'"
  echo "set multiplot layout 1,${#plots[@]}"
  echo "set logscale x; set grid; set key bottom right"
  echo "set xlabel 'ms (log scale)'; set ylabel 'share of pods started'"
  echo "set yrange [0:1]"
  printf '%s\n' "${plots[@]}"
  echo "unset multiplot"
} > "$tmp/plot.gp"
gnuplot "$tmp/plot.gp"
echo "wrote $out"
