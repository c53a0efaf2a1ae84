#!/usr/bin/env bash
# Builds a private Python with the real oban-py installed, for the tests that run a worker.
#
# oban-py 0.7 needs Python >= 3.12; Debian 12 ships 3.11. So: Debian trixie's python3.13 and
# its C library are fetched through a private apt configuration (the system's sources, lists
# and installed packages are left alone), unpacked with `dpkg -x` into one prefix, and the
# interpreter is pointed at that prefix's loader and libraries. A venv on top gets `oban`
# from PyPI (its dependency erlpack compiles with the machine's g++).
#
# Idempotent and cached under target/oban-py; a lock makes concurrent callers wait for one
# build. Prints the venv's python on stdout; any failure exits non-zero with the reason.
set -euo pipefail

OBAN_PY_VERSION="${OBAN_PY_VERSION:-0.7.*}"
here="$(cd "$(dirname "$0")" && pwd)"
root="${OBAN_PY_HOME:-$(cd "$here/../.." && pwd)/target/oban-py}"
prefix="$root/prefix"
venv="$root/venv"
stamp="$root/ready-$(echo "$OBAN_PY_VERSION" | tr -c 'a-zA-Z0-9.\n' _)"

mkdir -p "$root"
exec 9>"$root/lock"
flock 9

if [ -f "$stamp" ] && "$venv/bin/python" -c 'import oban' 2>/dev/null; then
  echo "$venv/bin/python"
  exit 0
fi

log() { echo "oban-py setup: $*" >&2; }

# A private apt: its own sources, lists, cache and an empty dpkg status, so that apt resolves
# the whole dependency closure and downloads it without touching the system.
apt_root="$root/apt"
mkdir -p "$apt_root"/{lists/partial,archives/partial,etc/preferences.d,etc/apt.conf.d}
: >"$apt_root/status"
cat >"$apt_root/etc/sources.list" <<'EOF'
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
EOF
apt_opts=(
  -o "Dir::Etc::SourceList=$apt_root/etc/sources.list"
  -o "Dir::Etc::SourceParts=-"
  -o "Dir::Etc::Preferences=$apt_root/etc/preferences"
  -o "Dir::Etc::PreferencesParts=$apt_root/etc/preferences.d"
  -o "Dir::State=$apt_root"
  -o "Dir::State::Lists=$apt_root/lists"
  -o "Dir::State::status=$apt_root/status"
  -o "Dir::Cache=$apt_root"
  -o "Dir::Cache::Archives=$apt_root/archives"
  -o "Debug::NoLocking=1"
  -o "APT::Install-Recommends=0"
  -o "APT::Get::AllowUnauthenticated=0"
)
packages=(python3.13 python3.13-venv python3.13-dev libc6 libstdc++6 patchelf)

if [ ! -x "$prefix/usr/bin/python3.13" ]; then
  log "fetching trixie's python3.13 and libc6 (private apt configuration)"
  apt-get "${apt_opts[@]}" -qq update >&2
  apt-get "${apt_opts[@]}" -qq -y --download-only install "${packages[@]}" >&2
  rm -rf "$prefix.tmp"
  mkdir -p "$prefix.tmp"
  for deb in "$apt_root"/archives/*.deb; do
    dpkg -x "$deb" "$prefix.tmp"
  done
  rm -rf "$prefix"
  mv "$prefix.tmp" "$prefix"
fi

libs="$prefix/usr/lib/x86_64-linux-gnu"
loader="$libs/ld-linux-x86-64.so.2"
[ -e "$loader" ] || { log "no loader at $loader after unpacking libc6"; exit 1; }

# The unpacked patchelf is itself a trixie binary: run it through the unpacked loader.
patchelf() { "$loader" --library-path "$libs" "$prefix/usr/bin/patchelf" "$@"; }

python="$prefix/usr/bin/python3.13"
# DT_RPATH (not RUNPATH) so that the extension modules python dlopens find trixie's libraries
# too, not only the interpreter's direct dependencies. The rpath goes in before the
# interpreter: patchelf 0.18 given both in one call (or the other order) writes a binary that
# crashes at start.
if [ "$(patchelf --print-interpreter "$python")" != "$loader" ]; then
  log "pointing python3.13 at the private loader"
  cp "$python" "$python.tmp"
  patchelf --force-rpath --set-rpath "$libs" "$python.tmp"
  patchelf --set-interpreter "$loader" "$python.tmp"
  mv "$python.tmp" "$python"
fi
"$python" -c 'import ssl, sqlite3, ctypes' >&2

if [ ! -x "$venv/bin/python" ]; then
  log "creating the venv"
  rm -rf "$venv"
  # Debian's ensurepip looks for its wheels under /usr/share, where this machine keeps an older
  # pip; bootstrap from the prefix's own wheel instead.
  "$python" -m venv --without-pip "$venv" >&2
  wheel="$(ls "$prefix"/usr/share/python-wheels/pip-*.whl | head -n 1)"
  "$venv/bin/python" "$wheel/pip" install -q --no-index "$wheel" >&2
fi

log "installing oban==$OBAN_PY_VERSION from PyPI"
# Debian splits pyconfig.h into an arch directory that python's own include file names
# relative to /usr/include; let the compiler find it in the private prefix, after the
# machine's own headers (the prefix also holds trixie's libc headers, which must not win).
CPPFLAGS="-idirafter $prefix/usr/include ${CPPFLAGS:-}" \
  "$venv/bin/python" -m pip install -q "oban==$OBAN_PY_VERSION" >&2
"$venv/bin/python" -c 'import oban' >&2

touch "$stamp"
echo "$venv/bin/python"
