echo hi | tr a-z A-Z
echo "$(echo sub) $((3 * 4))"
printf 'b\na\nc\n' | sort | head -n 2
seq 1 5 | xargs echo
(sleep 0; echo bg) &
wait
echo waited $?
echo data > /tmp/f.txt
cat < /tmp/f.txt
wc -c < /tmp/f.txt
find . -name '*.txt' | sort
find . -name 'a.txt' -exec cat {} \;
false; echo status $?
x=0; for i in 1 2 3; do x=$((x + i)); done; echo sum $x
echo err >&2
trap 'echo trapped' EXIT
