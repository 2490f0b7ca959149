#!/bin/sh
# setup-keys.sh -- make Ward identities where the units and example configs
# expect them, owned by the ward user, and say how to enrol.
#
#   setup-keys.sh console            /etc/ward/console (the console identity)
#   setup-keys.sh sensor NAME        /etc/ward/sensor, and prints the enrolment
#                                    command to run on the console
#
# Keys are made by `wardctl keygen` (secret key file 0600, directory 0700); an
# existing identity is never overwritten.  Set WARDCTL to use another wardctl,
# WARD_ETC for another directory than /etc/ward.  Run as root.
set -eu

WARDCTL=${WARDCTL:-wardctl}
ETC=${WARD_ETC:-/etc/ward}

usage() {
    echo "usage: $0 console | sensor NAME" >&2
    exit 2
}

own() {
    if id ward >/dev/null 2>&1; then
        chown -R ward:ward "$1"
    else
        echo "setup-keys: no 'ward' user; $1 stays owned by $(id -un)" >&2
    fi
}

[ $# -ge 1 ] || usage
mkdir -p "$ETC"
case "$1" in
console)
    [ $# -eq 1 ] || usage
    token=$("$WARDCTL" keygen "$ETC/console")
    own "$ETC/console"
    echo "console identity: $ETC/console"
    echo "give sensors its public half: $ETC/console/identity.pub (copy it to each sensor"
    echo "as /etc/ward/console.pub); its token is $token"
    ;;
sensor)
    [ $# -eq 2 ] || usage
    token=$("$WARDCTL" keygen "$ETC/sensor")
    own "$ETC/sensor"
    echo "sensor identity: $ETC/sensor"
    echo "on the console, enrol it with:"
    echo "  wardctl sensor add $2 $token"
    ;;
*)
    usage
    ;;
esac
