#!/bin/sh
# valgrind_check.sh VALGRIND EXPECT PROGRAM [ARGS...] — runs PROGRAM under memcheck and
# passes when memcheck reports no error and no definite leak and the program's output
# contains EXPECT (a fixed string). What it guards: a weft program runs to its end under
# valgrind (whose global lock is held through io_uring_enter: runtime/run.c,
# under_valgrind) and is clean there.
set -u
vg=$1
expect=$2
shift 2
out=$(mktemp /tmp/weft-valgrind.XXXXXX)
trap 'rm -f "$out"' EXIT
"$vg" -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite "$@" >"$out" 2>&1
rc=$?
# valgrind 3.19 does not know pidfd_open (the stack allocator's probe falls back).
grep -v -e 'unhandled amd64-linux syscall: 434' -e 'write your own handler' \
  -e 'README_MISSING_SYSCALL_OR_IOCTL' -e 'consider this a bug' -e 'bug_reports.html' "$out"
if [ $rc -ne 0 ]; then
  echo "FAIL: valgrind exited $rc (9: memcheck found errors)"
  exit 1
fi
if ! grep -qF -- "$expect" "$out"; then
  echo "FAIL: the output lacks: $expect"
  exit 1
fi
echo "PASS"
