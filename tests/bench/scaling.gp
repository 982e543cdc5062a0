# Draws tests/bench/results/scaling.png from the .dat files report.py writes.
#   gnuplot -e "datadir='tests/bench/results/data'; out='tests/bench/results/scaling.png'" tests/bench/scaling.gp
if (!exists("datadir")) datadir = 'tests/bench/results/data'
if (!exists("out")) out = 'tests/bench/results/scaling.png'
f(name) = datadir . '/' . name

set terminal pngcairo size 1800,1050 font 'DejaVu Sans,11'
set output out
set multiplot layout 2,3 title "magcds benchmark (tests/bench/run.sh) — see results.md for machine and figures" font ',14'
set grid
set key top left

# 1. Evaluate vs resources (13 rules), parse+normalise, handler; dashed = linear through the 1,000 point.
set title 'Engine vs patient size (13 rules, CPU time)'
set logscale xy
set xlabel 'resources in the patient'
set ylabel 'µs per call'
set format y '%g'
stats f('eval_resources.dat') using 1:2 nooutput
e1000 = 0
stats f('eval_resources.dat') every ::2::2 using 2 nooutput name 'E'
lin(x) = E_max * x / 1000.0
plot f('eval_resources.dat') using 1:2 with linespoints lw 2 pt 7 title 'rules::Evaluate', \
     f('eval_resources.dat') using 1:3 with linespoints lw 2 pt 5 title 'parse + normalise', \
     f('eval_resources.dat') using 1:4 with linespoints lw 2 pt 9 title 'handler end to end', \
     lin(x) with lines dt 2 lc rgb 'gray40' title 'linear', \
     200 with lines dt 3 lw 2 lc rgb 'red' title 'target 200 µs @ 1,000'

# 2. Evaluate vs ruleset size (1,000 resources) and reload time.
set title 'Engine vs ruleset size (1,000 resources, CPU time)'
set xlabel 'rules'
set ylabel 'evaluate, µs'
set y2label 'reload (LoadRuleSet), ms'
set logscale y2
set y2tics
set ytics nomirror
stats f('eval_rules.dat') every ::0::0 using 2 nooutput name 'R'
linr(x) = R_max * x / 13.0
plot f('eval_rules.dat') using 1:2 with linespoints lw 2 pt 7 title 'rules::Evaluate', \
     linr(x) with lines dt 2 lc rgb 'gray40' title 'linear', \
     f('eval_rules.dat') using 1:3 axes x1y2 with linespoints lw 2 pt 5 title 'reload (ms, right)', \
     100 axes x1y2 with lines dt 3 lw 2 lc rgb 'red' title 'reload target 100 ms'
unset y2label
unset y2tics
unset logscale y2
set ytics mirror

# 3. HTTP throughput.
unset logscale xy
set title 'HTTP req/s (median of rounds, min–max bars)'
set xlabel ''
set ylabel 'requests per second'
set style fill solid 0.6
set boxwidth 0.6
set xrange [-0.6:2.6]
set yrange [0:*]
set key top right
plot f('throughput.dat') using 1:3:xtic(2) with boxes lc rgb 'steelblue' title 'req/s', \
     f('throughput.dat') using 1:3:4:5 with yerrorbars lc rgb 'black' pt 0 title ''

# 4. HTTP latency.
set title 'HTTP latency (median of rounds, p99 min–max bars)'
set ylabel 'ms'
set key top left
set boxwidth 0.3
plot f('throughput.dat') using ($1-0.17):6:xtic(2) with boxes lc rgb 'seagreen' title 'p50', \
     f('throughput.dat') using ($1+0.17):7 with boxes lc rgb 'orange' title 'p99', \
     f('throughput.dat') using ($1+0.17):7:8:9 with yerrorbars lc rgb 'black' pt 0 title ''
set xrange [*:*]
set yrange [*:*]

# 5. Fetch mode.
set title 'Fetch mode: latency added over the FHIR delay'
set xlabel 'concurrent requests'
set ylabel 'ms over the delay'
set logscale x 2
set key top left
plot f('fetch.dat') using 1:2 with linespoints lw 2 pt 7 title 'magcds, batch, p50', \
     f('fetch.dat') using 1:3 with linespoints lw 2 pt 5 title 'magcds, batch, p99', \
     f('fetch.dat') using 1:4 with linespoints dt 2 pt 6 lc rgb 'gray50' title 'FHIR alone (batches) p50', \
     f('fetch.dat') using 1:5 with linespoints lw 1 pt 7 title 'magcds, GETs, p50', \
     f('fetch.dat') using 1:6 with linespoints lw 1 pt 5 title 'magcds, GETs, p99', \
     f('fetch.dat') using 1:7 with linespoints dt 3 pt 6 lc rgb 'gray70' title 'FHIR alone (GETs) p50', \
     1 with lines dt 3 lc rgb 'red' title 'target p50 1 ms', \
     5 with lines dt 3 lc rgb 'dark-red' title 'target p99 5 ms'
unset logscale x

# 6. Soak RSS.
set title 'Soak: magcds RSS under load'
set xlabel 'seconds (after a 10 s warm-up)'
set ylabel 'MB'
set yrange [0:*]
plot f('soak.dat') using 1:2 with linespoints lw 2 pt 7 title 'VmRSS', \
     50 with lines dt 3 lc rgb 'red' title 'peak target 50 MB'

unset multiplot
