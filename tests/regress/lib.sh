# lib.sh -- what tests/integration/regress.sh and tests/regress/update.sh share:
# reading tests/regress/CASES and running ward-sensor on one case.
#
# Sourced with SRC (the source tree) and BUILD (the build directory) set.

REGRESS_DIR="$SRC/tests/regress"

# regress_cases: the CASES lines as "name<TAB>source<TAB>args", comments dropped.
regress_cases() {
    grep -v '^[[:space:]]*#' "$REGRESS_DIR/CASES" | grep -v '^[[:space:]]*$'
}

# regress_run PCAP ARGS OUT [REPLAY]: ward-sensor's report on PCAP into OUT: the
# events and asset updates as JSON lines, then the --stats-json line without
# what depends on where the file is or how the tables were sized ("source",
# "memory_bytes").  With REPLAY=1 the capture is paced (--replay) at a speed
# that makes the pacing instantaneous; otherwise it is read flat out.  ARGS is
# split on spaces and run from SRC, so paths in it are relative to the source
# tree.  Returns ward-sensor's exit status.
regress_run() {
    local pcap=$1 args=$2 out=$3 replay=${4:-0} rc pace=()
    [ "$args" = "-" ] && args=""
    [ "$replay" = 1 ] && pace=(--replay --speed 1000000)
    # shellcheck disable=SC2086 # ARGS is a word list by design
    (cd "$SRC" && timeout 120 "$BUILD/ward-sensor" -r "$pcap" "${pace[@]}" $args \
        -o jsonl --assets --stats-json >"$out" 2>"$out.err")
    rc=$?
    grep '^{"source":' "$out.err" |
        sed -E 's/"source":"[^"]*",//; s/,"memory_bytes":[0-9]+//' >>"$out"
    return $rc
}
