#!/bin/sh
# Install what `make fuzz` needs beyond scripts/deps.sh: clang and the
# compiler-rt runtime with libFuzzer and the sanitizers (Debian 12 names).
exec sh "$(dirname "$0")/deps.sh" clang libclang-rt-14-dev
