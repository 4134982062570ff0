#!/bin/sh
# fetch_tool_check.sh WEFT_FETCH — runs weft-fetch on its embedded server and checks the
# contract: the last stdout line's exact format, errors=0 and exit 0; --json gives one
# JSON object before that line; -d runs for a duration; bad usage exits 2 with a message.
set -u
bin=$1
fail() { echo "FAIL: $*"; exit 1; }
line_re='^requests=[0-9]+ ok=[0-9]+ errors=[0-9]+ seconds=[0-9]+\.[0-9]{3} req_per_s=[0-9]+ p50_us=[0-9]+ p99_us=[0-9]+ max_us=[0-9]+$'

out=$("$bin" -n 2000 -c 16 -w 2) || fail "weft-fetch -n 2000 -c 16 exited $?: $out"
echo "$out"
last=$(printf '%s\n' "$out" | tail -n 1)
printf '%s\n' "$last" | grep -Eq "$line_re" || fail "last line format: $last"
printf '%s\n' "$last" | grep -q '^requests=2000 ok=2000 errors=0 ' || fail "counts: $last"
p50=$(printf '%s\n' "$last" | sed 's/.*p50_us=\([0-9]*\).*/\1/')
max=$(printf '%s\n' "$last" | sed 's/.*max_us=\([0-9]*\).*/\1/')
[ "$p50" -le "$max" ] || fail "p50 $p50 > max $max"

out=$("$bin" --json -n 500 -c 4 -w 1) || fail "--json run exited $?"
[ "$(printf '%s\n' "$out" | wc -l)" -eq 2 ] || fail "--json: expected 2 lines: $out"
json=$(printf '%s\n' "$out" | head -n 1)
case $json in
  '{"requests":500,"ok":500,"errors":0,'*'"latency_us":{'*'"errors_by_kind":{'*'}') ;;
  *) fail "--json object: $json" ;;
esac
if command -v python3 >/dev/null 2>&1; then
  printf '%s\n' "$json" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["ok"]==500' \
    || fail "--json is not valid JSON: $json"
fi
printf '%s\n' "$out" | tail -n 1 | grep -Eq "$line_re" || fail "--json last line"

out=$("$bin" -d 0.5 -c 8 -w 2) || fail "-d run exited $?"
last=$(printf '%s\n' "$out" | tail -n 1)
printf '%s\n' "$last" | grep -Eq "$line_re" || fail "-d last line: $last"
printf '%s\n' "$last" | grep -q ' errors=0 ' || fail "-d errors: $last"

# A refused port: every request fails, exit 1, errors counted by kind.
out=$("$bin" -n 20 -c 2 -w 1 http://127.0.0.1:1/)
rc=$?
[ $rc -eq 1 ] || fail "refused: exit $rc, want 1: $out"
printf '%s\n' "$out" | grep -q 'connect_refused=20' || fail "refused: kind not reported: $out"
printf '%s\n' "$out" | tail -n 1 | grep -q '^requests=20 ok=0 errors=20 ' || fail "refused last line"

for args in "-n 0" "-c abc" "-n 5 -d 1" "ftp://x/" "--bogus" "-d -1"; do
  # shellcheck disable=SC2086
  err=$("$bin" $args 2>&1 >/dev/null)
  rc=$?
  [ $rc -eq 2 ] || fail "usage '$args': exit $rc, want 2"
  printf '%s\n' "$err" | grep -q 'usage: weft-fetch' || fail "usage '$args': no usage text: $err"
done
echo "fetch_tool: ok"
