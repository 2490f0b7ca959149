#!/bin/bash
# eval.sh BUILD -- Ward's detection evaluation (make detect-eval).
#
# Runs `ward-sensor -r CAPTURE -o jsonl` over every capture listed in
# tests/detect/expected.tsv: the shared real captures (../shared/pcaps beside the
# repository) and synthetic ones written by BUILD/tools/gen_detect_pcaps.  For
# each set it prints, per event kind, true positives, false positives, false
# negatives, precision and recall, then the totals, and the events raised on
# captures that must stay quiet.
#
# Matching: an expected kind:host is found when an event of that kind names host
# as its src (or, for arp_spoof, as its src_mac; for flood, as src or dst).  An
# event (counted once per uid) that matches no expected or optional pair of its
# capture is a false positive; events of the same kind and host count once.
#
# Exit status: 0 when, for every set evaluated, precision and recall are both at
# least 0.95 and the captures that expect nothing raised nothing; 1 otherwise.
# Without ../shared/pcaps only the synthetic set is evaluated (and said so).
set -u
BUILD=${1:-build}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$BUILD" && pwd)
HERE="$SRC/tests/detect"
PCAPS=${WARD_PCAPS:-$SRC/../shared/pcaps} # WARD_PCAPS: another place for them
SENSOR="$BUILD/ward-sensor"
GEN="$BUILD/tools/gen_detect_pcaps"
SYNTH="$BUILD/detect-synth"
TARGET=0.95

command -v jq >/dev/null || { echo "detect-eval: jq is needed (deploy/install-deps.sh)"; exit 1; }
[ -x "$SENSOR" ] || { echo "detect-eval: $SENSOR is not built"; exit 1; }
[ -x "$GEN" ] || { echo "detect-eval: $GEN is not built"; exit 1; }

mkdir -p "$SYNTH"
"$GEN" "$SYNTH" || { echo "detect-eval: gen_detect_pcaps failed"; exit 1; }
have_shared=1
if [ ! -d "$PCAPS" ]; then
    have_shared=0
    echo "detect-eval: ../shared/pcaps is absent: evaluating the synthetic captures only"
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# One line per evaluated capture into $WORK/<set>.results:
#   capture <TAB> expected <TAB> events (kind|src|dst|mac, space-separated)
while IFS=$'\t' read -r capture home cfg expected; do
    case "$capture" in '' | '#'*) continue ;; esac
    if [ "${capture#synthetic:}" != "$capture" ]; then
        set_name=synthetic
        file="$SYNTH/${capture#synthetic:}.pcap"
    else
        set_name=shared
        [ "$have_shared" = 1 ] || continue
        file="$PCAPS/$capture"
    fi
    if [ ! -f "$file" ]; then
        echo "detect-eval: missing capture $file"
        echo -e "$capture\t$expected\tMISSING" >>"$WORK/$set_name.results"
        continue
    fi
    args=(-r "$file" -o jsonl)
    [ "$home" != "-" ] && args+=(--home-net "$home")
    [ "$cfg" != "-" ] && args+=(-c "$HERE/$cfg")
    events=$(cd "$HERE" && timeout 300 "$SENSOR" "${args[@]}" 2>"$WORK/stderr" |
        jq -r 'select(.kind != null and .kind != "new_asset") |
               [.uid, .kind, .src, .dst, .src_mac] | @tsv' |
        sort -u -k1,1 | awk -F'\t' '{ printf "%s|%s|%s|%s ", $2, $3, $4, $5 }')
    status=${PIPESTATUS[0]}
    if grep -q 'ward-sensor\[err\]' "$WORK/stderr"; then
        echo "detect-eval: ward-sensor failed on $capture:"
        sed 's/^/    /' "$WORK/stderr" | tail -5
    fi
    echo -e "$capture\t$expected\t${events:-}" >>"$WORK/$set_name.results"
    : "$status"
done <"$HERE/expected.tsv"

score() { # score SET -> prints the table, returns 0 if the targets are met
    awk -F'\t' -v set="$1" -v target="$TARGET" '
    function hit(ev, kind, host,    f) {
        split(ev, f, "|")
        if (f[1] != kind) return 0
        if (f[2] == host || f[4] == host) return 1
        return kind == "flood" && f[3] == host
    }
    {
        cap = $1; nexp = split($2, ex, " "); nev = split($3, ev, " ")
        if ($3 == "MISSING") { missing++; nev = 0 }
        quiet = ($2 == "-")
        for (i = 1; i <= nexp; i++) {
            if (ex[i] == "-") continue
            opt = substr(ex[i], 1, 1) == "?"
            item = opt ? substr(ex[i], 2) : ex[i]
            k = substr(item, 1, index(item, ":") - 1); h = substr(item, index(item, ":") + 1)
            kinds[k] = 1
            if (opt) continue
            found = 0
            for (j = 1; j <= nev; j++) if (hit(ev[j], k, h)) found = 1
            if (found) tp[k]++; else { fn[k]++; detail = detail sprintf("  missed   %-10s %-22s %s\n", k, h, cap) }
        }
        delete seen
        for (j = 1; j <= nev; j++) {
            split(ev[j], f, "|"); k = f[1]; kinds[k] = 1
            ok = 0
            for (i = 1; i <= nexp; i++) {
                item = ex[i]; if (substr(item, 1, 1) == "?") item = substr(item, 2)
                ek = substr(item, 1, index(item, ":") - 1); eh = substr(item, index(item, ":") + 1)
                if (hit(ev[j], ek, eh)) ok = 1
            }
            if (ok) continue
            who = f[2] != "" ? f[2] : (f[4] != "" ? f[4] : f[3])
            if (seen[k "|" who]++) continue
            fp[k]++
            if (quiet) quiet_events++
            detail = detail sprintf("  false    %-10s %-22s %s\n", k, who, cap)
        }
        captures++
    }
    END {
        printf "\n%s captures: %d\n", set, captures
        printf "%-12s %5s %5s %5s %10s %8s\n", "kind", "TP", "FP", "FN", "precision", "recall"
        n = 0
        for (k in kinds) order[++n] = k
        for (a = 1; a <= n; a++) for (b = a + 1; b <= n; b++) if (order[b] < order[a]) { t = order[a]; order[a] = order[b]; order[b] = t }
        for (a = 1; a <= n; a++) {
            k = order[a]; T += tp[k]; F += fp[k]; N += fn[k]
            p = tp[k] + fp[k] ? tp[k] / (tp[k] + fp[k]) : 1
            r = tp[k] + fn[k] ? tp[k] / (tp[k] + fn[k]) : 1
            printf "%-12s %5d %5d %5d %10.3f %8.3f\n", k, tp[k], fp[k], fn[k], p, r
        }
        P = T + F ? T / (T + F) : 1; R = T + N ? T / (T + N) : 1
        printf "%-12s %5d %5d %5d %10.3f %8.3f\n", "total", T, F, N, P, R
        printf "events on captures that expect none: %d\n", quiet_events
        if (detail != "") printf "%s", detail
        if (missing) printf "  %d capture(s) missing\n", missing
        ok = P >= target && R >= target && quiet_events == 0 && !missing
        printf "%s: precision %.3f recall %.3f (target %.2f): %s\n", set, P, R, target, ok ? "met" : "NOT met"
        exit ok ? 0 : 1
    }' "$WORK/$1.results"
}

rc=0
if [ "$have_shared" = 1 ]; then
    score shared || rc=1
fi
score synthetic || rc=1
exit $rc
