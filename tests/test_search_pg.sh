#!/usr/bin/env bash
# a2m search --storage postgresql://: a throwaway PostgreSQL server (Debian's postgresql: initdb into a temporary
# folder, pg_ctl with its socket in that folder and TCP on 127.0.0.1 only), two workers sharing one study, a
# worker killed with -9 whose trial is failed and re-run, --show and plot search from the server. Skips (77)
# where no server can start (postgresql not installed; as root, no `runuser -u nobody`).
. "${BASH_SOURCE%/*}/cli_common.sh"
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then echo "SKIP: PostgreSQL server not installed (apt-get install postgresql)"; exit 77; fi
chmod 755 "$tmp"
as=()
if [ "$(id -u)" -eq 0 ]; then # the server refuses to run as root
  if ! runuser -u nobody -- true 2>/dev/null; then echo "SKIP: running as root and runuser -u nobody fails"; exit 77; fi
  as=(runuser -u nobody --)
  mkdir "$tmp/pg" && chown nobody "$tmp/pg"
else
  mkdir "$tmp/pg"
fi
pids=()
stop() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  "${as[@]}" "$pgbin/pg_ctl" -D "$tmp/pg/data" -m immediate stop >/dev/null 2>&1
}
at_exit stop
if ! "${as[@]}" "$pgbin/initdb" -D "$tmp/pg/data" -A trust -U a2m --no-sync >"$tmp/initdb.log" 2>&1; then
  echo "SKIP: initdb failed: $(tail -n 2 "$tmp/initdb.log")"; exit 77
fi
started=0
for _ in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 30000))
  if "${as[@]}" "$pgbin/pg_ctl" -D "$tmp/pg/data" -l "$tmp/pg/log" -w -t 30 \
       -o "-c listen_addresses=127.0.0.1 -p $port -k $tmp/pg -F -c fsync=off" start >/dev/null 2>&1; then started=1; break; fi
done
if [ $started -ne 1 ]; then echo "SKIP: the PostgreSQL server did not start: $(tail -n 3 "$tmp/pg/log" 2>/dev/null)"; exit 77; fi
url="postgresql:///postgres?host=$tmp/pg&port=$port&user=a2m"


synth_takes "$tmp/takes" 5 moving --transpose -12
echo '{"train": ["voice_001", "voice_002", "voice_003"], "val": ["voice_004", "voice_005"]}' >"$tmp/split.json"
expect_ok "$bin" dataset "$tmp/takes" -o "$tmp/ds"
echo '{"hidden": {"type": "categorical", "choices": [4, 8]}, "lr": {"type": "float", "low": 1e-3, "high": 3e-2, "log": true}, "batch": 2}' >"$tmp/space.json"
S=("$bin" search "$tmp/ds" --splits "$tmp/split.json" --space "$tmp/space.json" --storage "$url")

# two workers, one study on the server
"${S[@]}" --study shared --trials 6 --epochs 3 >"$tmp/w1.txt" 2>&1 & p1=$!; pids+=($p1)
"${S[@]}" --study shared --trials 6 --epochs 3 >"$tmp/w2.txt" 2>&1 & p2=$!; pids+=($p2)
wait $p1 && wait $p2 && ok || bad "two workers: $(tail -n 3 "$tmp/w1.txt" "$tmp/w2.txt")"
n1=$(sed -n 's/.*this worker ran \([0-9]*\) trial.*/\1/p' "$tmp/w1.txt"); n2=$(sed -n 's/.*this worker ran \([0-9]*\) trial.*/\1/p' "$tmp/w2.txt")
[ $((n1 + n2)) -eq 6 ] && ok || bad "two workers ran $n1 + $n2 trials, not 6"
"$bin" search --show --study shared --storage "$url" >"$tmp/show.txt" 2>&1 && ok || bad "show: $(cat "$tmp/show.txt")"
grep -q "^6 trials: " "$tmp/show.txt" && grep -q "^best: trial " "$tmp/show.txt" && ok || bad "show: $(cat "$tmp/show.txt")"
"$bin" search --show --study shared --storage "$url" --json | grep -q '"train_args": "--hidden' && ok || bad "show --json"
expect_ok "$bin" plot search --storage "$url" --study shared -o "$tmp/plots"
[ -s "$tmp/plots/history.png" ] && [ -s "$tmp/plots/slice_lr.png" ] && ok || bad "plot search from the server"
"$bin" search --show --study other --storage "$url" >"$tmp/o.txt" 2>&1
[ $? -eq 1 ] && grep -q "no study named other" "$tmp/o.txt" && ok || bad "a missing study: $(cat "$tmp/o.txt")"

# kill -9: the trial is failed and re-run by the next worker
"${S[@]}" --study killed --trials 2 --epochs 40 --pruner none --heartbeat 0.3 >"$tmp/k.txt" 2>&1 & pk=$!; pids+=($pk)
for _ in $(seq 3000); do grep -q "trial 0 epoch" "$tmp/k.txt" && break; sleep 0.1; done
kill -9 $pk; wait $pk 2>/dev/null
sleep 1
expect_ok "${S[@]}" --study killed --trials 2 --epochs 40 --pruner none --heartbeat 0.3
"$bin" search --show --study killed --storage "$url" >"$tmp/k2.txt"
grep -qE '^ +0  failed ' "$tmp/k2.txt" && [ "$(grep -cE '^ +[0-9]+  complete ' "$tmp/k2.txt")" -eq 2 ] && ok ||
  bad "after kill -9 and a second worker: $(cat "$tmp/k2.txt")"

finish
