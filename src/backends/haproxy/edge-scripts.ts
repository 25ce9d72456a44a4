// The shell the edge controller (edge.ts) runs inside the edge container. Each
// script takes the volume's lock first (`flock` on .lock), so two odp processes
// never interleave; positional parameters carry the values, nothing is quoted in.
import { EDGE_DIR, EDGE_FILES, EDGE_SERVER_STATE, EDGE_SOCKET } from '../../render/haproxy-cfg.js';

/** Releases kept on the volume besides the live one, for a look at what ran before. */
const KEEP_RELEASES = 5;
/** The maps a release takes from the live one when it was not given its own. */
const MAPS = `${EDGE_FILES.acmeMap} ${EDGE_FILES.maintenanceMap}`;

const prelude = `set -eu
cd ${EDGE_DIR}
mkdir -p .staging releases
exec 9>.lock
if ! flock -w "$LOCK_WAIT" 9; then echo "another change of the edge holds its lock" >&2; exit 75; fi
cli() { printf '%s\\n' "$1" | socat -t 5 stdio unix-connect:${EDGE_SOCKET}; }
worker() { cli 'show info' | sed -n 's/^Pid: //p'; }
`;

/**
 * $1: a staged release's id. Completes it (default certificate, the live maps it
 * was not given, listed in .carried) and checks it with haproxy as it will run;
 * refused: the staging is dropped, HAProxy's output printed, exit 3. Accepted:
 * marked .checked, its warnings printed as `warning: …` lines.
 */
export const checkScript = `${prelude}
id=$1
stage=.staging/$id
# Uploads of applies that died before they went live.
find .staging -mindepth 1 -maxdepth 1 -mmin +10 ! -name "$id" -exec rm -rf {} +
cp default.pem "$stage/${EDGE_FILES.defaultCert}"
: >"$stage/.carried"
for map in ${MAPS}; do
  if [ ! -f "$stage/$map" ]; then
    cp "current/$map" "$stage/$map" 2>/dev/null || : >"$stage/$map"
    echo "$map" >>"$stage/.carried"
  fi
done
if ! out=$(haproxy -c -C "${EDGE_DIR}/$stage" -f "${EDGE_DIR}/$stage/${EDGE_FILES.cfg}" 2>&1); then
  rm -rf "$stage"
  printf '%s\\n' "$out"
  exit 3
fi
touch "$stage/.checked"
printf '%s\\n' "$out" | grep -E '^\\[(WARNING|ALERT)\\]' | sed 's/^/warning: /' || true
`;

/**
 * $1: a checked release's id. Takes the live maps again (one set since the check
 * is kept), moves it into releases/, swaps \`current\`, dumps the servers' state
 * for the new workers, reloads the master (SIGUSR2) and waits for a new worker:
 * \`reloaded <before> <after>\`. No new worker: \`current\` is put back, exit 4.
 * With RELOAD=0 it stops before the reload (\`kept\`): the release is what the
 * edge loads at its next start, the running workers already route as it says
 * (switched through the runtime API).
 */
export const activateScript = `${prelude}
id=$1
stage=.staging/$id
if [ ! -f "$stage/.checked" ]; then echo "release $id was not checked" >&2; exit 6; fi
while read -r map; do
  if [ -n "$map" ]; then cp "current/$map" "$stage/$map" 2>/dev/null || : >"$stage/$map"; fi
done <"$stage/.carried"
rm -f "$stage/.carried" "$stage/.checked"
before=$(worker)
previous=$(readlink current || true)
mv "$stage" "releases/$id"
ln -sfn "releases/$id" .current.new
mv -T .current.new current
# A server whose name now points elsewhere (another unit in its slot) must not
# get its old address and name back from the state file: HAProxy applies the
# file over the configuration. Such lines are dropped; the server resolves anew.
if cli 'show servers state' >${EDGE_SERVER_STATE}.new; then
  awk 'NR == FNR { if ($1 == "backend") b = $2; if ($1 == "server") { split($3, h, ":"); want[b " " $2] = h[1] }; next }
       /^[0-9]+ / { k = $2 " " $4; if ((k in want) && $18 != "-" && $18 != want[k]) next }
       { print }' "releases/$id/${EDGE_FILES.cfg}" ${EDGE_SERVER_STATE}.new >${EDGE_SERVER_STATE}
  rm -f ${EDGE_SERVER_STATE}.new
else
  rm -f ${EDGE_SERVER_STATE}.new
fi
prune() {
  ls -1 releases | grep '^r[0-9]' | sort | head -n -${KEEP_RELEASES + 1} | while read -r old; do
    [ "releases/$old" = "releases/$id" ] || rm -rf "releases/$old"
  done
}
if [ "\${RELOAD:-1}" = 0 ]; then prune; echo kept; exit 0; fi
kill -USR2 1
i=0
while [ "$i" -lt "$RELOAD_TRIES" ]; do
  sleep 0.1
  # A master that has just started serves through its worker before it handles
  # signals, and PID 1 drops a signal it has no handler for: ask again every 3 s.
  # A second reload of the same release is harmless.
  if [ "$i" -gt 0 ] && [ $((i % 30)) -eq 0 ]; then kill -USR2 1; fi
  now=$(worker || true)
  if [ -n "$now" ] && [ "$now" != "$before" ]; then
    echo "reloaded $before $now"
    prune
    exit 0
  fi
  i=$((i + 1))
done
if [ -n "$previous" ]; then ln -sfn "$previous" .current.new && mv -T .current.new current; fi
echo "no new worker after the reload (worker still $before); put $previous back"
exit 4
`;

/**
 * One entry of a map ($4: acme.map or maintenance.map) set or deleted ($2) in the
 * live release's file (reloads and restarts keep it) and in the running workers.
 */
export const mapScript = `${prelude}
map=current/$4
touch "$map"
{ grep -v "^$1 " "$map" || true; if [ "$2" = set ]; then printf '%s %s\\n' "$1" "$3"; fi; } >"$map.new"
mv "$map.new" "$map"
cli "del map $4 $1" >/dev/null || true
if [ "$2" = set ]; then
  out=$(cli "add map $4 $1 $3")
  if [ -n "$out" ]; then echo "$out" >&2; exit 5; fi
fi
`;
