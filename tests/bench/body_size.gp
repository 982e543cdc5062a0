# Draws tests/bench/results/body_size.png (issue #18): latency and server CPU per
# request by body size, magcds (c) against the bare listener (b), from the
# data/body_size.dat that report.py writes.
#   gnuplot -e "datadir='tests/bench/results/data'; out='tests/bench/results/body_size.png'" tests/bench/body_size.gp
if (!exists("datadir")) datadir = 'tests/bench/results/data'
if (!exists("out")) out = 'tests/bench/results/body_size.png'
f = datadir . '/body_size.dat'

set terminal pngcairo size 1500,600 font 'DejaVu Sans,11'
set output out
set multiplot layout 1,2 title "magcds vs bare listener by request body size (one connection, one request at a time)" font ',13'
set grid
set key top left
set logscale xy
set xlabel 'request body, KB'
set format x '%g'
set format y '%g'

set title 'Latency'
set ylabel 'ms'
plot f using 1:2 with linespoints lw 2 pt 7 lc rgb 'gray40' title '(b) bare listener p50', \
     f using 1:3 with linespoints lw 1 dt 2 pt 6 lc rgb 'gray40' title '(b) p99', \
     f using 1:5 with linespoints lw 2 pt 7 lc rgb 'steelblue' title '(c) magcds p50', \
     f using 1:6 with linespoints lw 1 dt 2 pt 6 lc rgb 'steelblue' title '(c) p99'

set title 'Server CPU per request'
set ylabel 'µs'
plot f using 1:4 with linespoints lw 2 pt 7 lc rgb 'gray40' title '(b) bare listener', \
     f using 1:7 with linespoints lw 2 pt 7 lc rgb 'steelblue' title '(c) magcds'
unset multiplot
