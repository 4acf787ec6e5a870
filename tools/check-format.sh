#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Check that every C file follows .clang-format and that no bare assert( is
# used (house-style §3: ost_require / ost_fails_assert instead).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.c' '*.h')
clang-format --dry-run -Werror "${files[@]}"
if grep -nE '(^|[^_a-z])assert\(' "${files[@]}" | grep -v '^tests/' ; then
	echo "check-format: bare assert( found (use ost_require/ost_fails_assert)" >&2
	exit 1
fi
echo "check-format: ${#files[@]} files ok"
