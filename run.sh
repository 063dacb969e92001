#!/usr/bin/env bash
# Runs Automator locally: silo + API + dashboard on http://localhost:5000, durable on a PostgreSQL kept under
# .data/ (started by the silo itself, installed here when missing), email written to ./outbox as .eml files.
set -euo pipefail
cd "$(dirname "$0")"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 && ! command -v pg_ctl >/dev/null 2>&1; then
  echo "Installing PostgreSQL (Debian package postgresql)..."
  as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

if [ -f Dashboard/ClientApp/package.json ] && [ ! -f Dashboard/wwwroot/app/index.html ]; then
  (cd Dashboard/ClientApp && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent)
fi

mkdir -p .data outbox
export ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-Development}"
export Automator__LocalPostgres__DataDirectory="${Automator__LocalPostgres__DataDirectory:-$PWD/.data/postgres}"
export Automator__Outbox__Path="${Automator__Outbox__Path:-$PWD/outbox}"
export Automator__Demo__Seed="${Automator__Demo__Seed:-true}"
# Access tokens are signed with a local key made once and kept under .data/ (never a published default).
if [ -z "${Automator__Jwt__SigningKey:-}" ]; then
  [ -s .data/jwt-signing.key ] || (umask 077 && head -c 48 /dev/urandom | base64 -w0 > .data/jwt-signing.key)
  export Automator__Jwt__SigningKey="$(cat .data/jwt-signing.key)"
fi
# Contact names and sensitive properties are encrypted at rest: a local key is made once and kept under .data/.
if [ -z "${Automator__Encryption__ActiveKey:-}" ]; then
  [ -s .data/encryption.key ] || (umask 077 && head -c 32 /dev/urandom | base64 > .data/encryption.key)
  export Automator__Encryption__Keys__local="$(cat .data/encryption.key)"
  export Automator__Encryption__ActiveKey=local
fi
export Logging__Console__FormatterName="${Logging__Console__FormatterName:-simple}"
exec dotnet run --project Silo -c Release -- --urls "${URLS:-http://localhost:5000}" "$@"
