# net.sh -- free_port and wait_for, for the scripts that start a ward-console on
# 127.0.0.1 (tests/integration/*.sh, tests/lib/transport_env.sh, deploy/demo.sh).
# Source it from bash.
#
#   free_port    prints a TCP port on 127.0.0.1 that nothing answers on and
#                returns 0, or returns 1 after 100 tries.
#   wait_for SECS CMD...
#                runs CMD (output discarded) every 0.1 s until it succeeds
#                (returns 0) or SECS seconds have passed (returns 1).
#
# Ports are drawn from 20000-59999, spread by the caller's pid so that scripts
# started together try different ones first.  Another process can still take
# the port before the caller binds it; the caller's bounded wait for its daemon
# then fails with a message rather than hanging.

free_port() {
    local p i
    for i in $(seq 1 100); do
        p=$((20000 + (RANDOM * 7 + $$ + i) % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

wait_for() {
    local secs=$1 end
    shift
    end=$((SECONDS + secs))
    while [ $SECONDS -lt $end ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}
