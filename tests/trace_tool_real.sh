#!/bin/sh
# trace_tool_real.sh WEFT_TRACE ONE_CORE_SERVER — weft-trace on real traces recorded with
# WEFT_TRACE=FILE from examples/one_core_server: the inline server (one task does all the
# work) gets the "serialized" lint naming accept_loop, the fixed one does not; perfetto
# output parses as JSON (python3, when present) and the SVG renders (rsvg-convert, when
# present). Exits 77 when the runtime wrote no trace (a library without the recorder).
set -u
tool=$1
srv=$2
dir=$(mktemp -d /tmp/weft-trace-real.XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

WEFT_TRACE=$dir/inline.trace "$srv" -c 4 -n 100 -k 200 -w 2 || fail "one_core_server exited $?"
if [ ! -s "$dir/inline.trace" ]; then
  echo "SKIP: WEFT_TRACE wrote no trace (this runtime has no recorder)"
  exit 77
fi
WEFT_TRACE=$dir/fixed.trace "$srv" --fixed -c 4 -n 100 -k 200 -w 2 || fail "--fixed exited $?"

"$tool" summary "$dir/inline.trace" > "$dir/inline.txt" || fail "summary inline exited $?"
cat "$dir/inline.txt"
grep -q '^  serialized: task #[0-9:]* (accept_loop) did' "$dir/inline.txt" ||
  fail "no serialized lint naming accept_loop on the inline server"
"$tool" summary "$dir/fixed.trace" > "$dir/fixed.txt" || fail "summary fixed exited $?"
grep -q ' serve ' "$dir/fixed.txt" || fail "fixed: no serve tasks in the summary"
if grep -q '^  serialized:' "$dir/fixed.txt"; then
  cat "$dir/fixed.txt"
  fail "the fixed server is reported serialized"
fi

for t in inline fixed; do
  "$tool" perfetto "$dir/$t.trace" > "$dir/$t.json" || fail "perfetto $t exited $?"
  "$tool" svg "$dir/$t.trace" > "$dir/$t.svg" || fail "svg $t exited $?"
  "$tool" dump "$dir/$t.trace" > "$dir/$t.dump" || fail "dump $t exited $?"
  grep -q ' SPAWN .*fn=accept_loop' "$dir/$t.dump" || fail "dump $t: no SPAWN of accept_loop"
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["traceEvents"]) > 100' \
      "$dir/$t.json" || fail "perfetto $t: not valid JSON"
  fi
  if command -v rsvg-convert >/dev/null 2>&1; then
    rsvg-convert -o "$dir/$t.png" "$dir/$t.svg" || fail "svg $t does not render"
  fi
done
echo "OK"
