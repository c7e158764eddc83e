# Sourced by the check scripts that need PyPI packages (samples/interactive/check.sh,
# tests/tensorboard/check.sh, tests/onnx/check.sh).
# make_venv DIR: a fresh venv with a working pip in DIR, from the first Python that can make one
# (pyenv's or Debian's python3; Debian's python3-venv is installed with apt when that is what is
# missing). Prints the Python it used; returns non-zero when none could.
make_venv() {
  local venv=$1 py="" cand sudo=""
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  for cand in python3 /usr/bin/python3 python3.11; do
    command -v "$cand" >/dev/null || continue
    if "$cand" -m venv "$venv" 2>/dev/null && "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
      py=$cand; break
    fi
    rm -rf "$venv"
  done
  if [ -z "$py" ] && [ -x /usr/bin/python3 ]; then
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
      $sudo apt-get install -y -qq --no-install-recommends python3-venv >/dev/null &&
      /usr/bin/python3 -m venv "$venv" && py=/usr/bin/python3
  fi
  [ -n "$py" ] || { echo "no python3 that can create a venv"; return 1; }
  echo "python: $py ($("$venv/bin/python" --version))"
}
