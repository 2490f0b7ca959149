# net.sh -- free_port, for the scripts that start a ward-console on 127.0.0.1
# (tests/integration/*.sh, tests/lib/transport_env.sh, deploy/demo.sh).  Source it
# from bash.
#
#   free_port    prints a TCP port on 127.0.0.1 that nothing answers on and
#                returns 0, or returns 1 after 100 tries.
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
