# Sourced by bench/run_*.sh: how busy the machine is, and waiting until it is quiet.
# The caller sets QUIET_PCT (busy threshold, %) and QUIET_MAX (longest wait, s);
# QUIET=0 skips sampling. wait_quiet leaves the last sample in BUSY ("-" when skipped),
# which the scripts log with every run.

# Share of non-idle CPU time over 0.5 s, from /proc/stat.
busy_pct() {
    local u1 n1 s1 i1 w1 q1 sq1 st1 u2 n2 s2 i2 w2 q2 sq2 st2
    read -r _ u1 n1 s1 i1 w1 q1 sq1 st1 _ </proc/stat
    sleep 0.5
    read -r _ u2 n2 s2 i2 w2 q2 sq2 st2 _ </proc/stat
    local busy=$(((u2 + n2 + s2 + q2 + sq2 + st2) - (u1 + n1 + s1 + q1 + sq1 + st1)))
    local idle=$(((i2 + w2) - (i1 + w1)))
    echo $((100 * busy / (busy + idle + 1)))
}

BUSY=-
# Up to QUIET_MAX s until the machine is under QUIET_PCT % busy.
wait_quiet() {
    [[ ${QUIET:-1} == 0 ]] && { BUSY=-; return; }
    local t0=$SECONDS
    BUSY=$(busy_pct)
    while ((BUSY >= QUIET_PCT && SECONDS - t0 < QUIET_MAX)); do BUSY=$(busy_pct); done
}
