# Shared set-up for the bats files: assertions, the programs under test on
# PATH, and a scratch directory per test.
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

: "${BIN:=$BATS_TEST_DIRNAME/../bin}"
export PATH="$BIN:$PATH"
export VIGIL_ROOT="$BATS_TEST_DIRNAME/.."

setup() {
    T="$BATS_TEST_TMPDIR"
}

# A free TCP port on 127.0.0.1 (ports differ between tests and runs).
free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
        || echo $(( 20000 + (RANDOM % 20000) ))
}
