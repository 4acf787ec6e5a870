#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Run every ostrov test: configure and build the debug preset, then ctest
# (cmocka unit tests, replay scenarios, loopback-lab integration tests).
# Lab tests start their own NSD/Unbound instances on 127.53.0.0/16 and stop
# them again; nothing leaves loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
PRESET="${1:-debug}"
cmake --preset "$PRESET" >/dev/null
cmake --build --preset "$PRESET" -j"$(nproc)"
# OST_CTEST_EXCLUDE: a ctest -E regex of tests to leave out (used by .ci/run only).
ctest --preset "$PRESET" -j"${OST_TEST_JOBS:-2}" --timeout 600 \
	${OST_CTEST_EXCLUDE:+-E "$OST_CTEST_EXCLUDE"}
