#!/usr/bin/env bash
# Creates the Python virtual environment .venv in the repository root (if missing) and installs a
# requirements file into it. Idempotent: a stamp in .venv records the hash of each requirements
# file already installed, so a second call with the same file does nothing and says so.
#
# Usage: Scripts/python-env.sh [REQUIREMENTS]   (default: Scripts/requirements-bench.txt)
# Env:   PYTHON  the interpreter that creates the venv (default: python3)
#        VENV    where the venv lives (default: .venv in the repository root)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
requirements="${1:-$root/Scripts/requirements-bench.txt}"
python="${PYTHON:-python3}"
venv="${VENV:-$root/.venv}"

if [[ ! -f "$requirements" ]]; then
    echo "python-env: requirements file not found: $requirements" >&2
    exit 2
fi

if [[ ! -x "$venv/bin/python" ]]; then
    echo "python-env: creating virtual environment $venv with $("$python" --version 2>&1)"
    "$python" -m venv "$venv"
fi

hash="$(sha256sum "$requirements" | cut -c1-16)"
stamp="$venv/.installed-$(basename "$requirements")-$hash"
if [[ -f "$stamp" ]]; then
    echo "python-env: $(basename "$requirements") already installed in $venv"
    exit 0
fi

echo "python-env: installing $(basename "$requirements") into $venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
# Lines "# no-deps: SPEC" install SPEC without its dependencies (a package wanted only for files it ships).
no_deps=$(sed -n 's/^# no-deps: *//p' "$requirements")
if [[ -n "$no_deps" ]]; then
    # shellcheck disable=SC2086
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps $no_deps
fi
# A venv made before open_clip_torch moved to a no-deps line may hold PyPI's torchvision, which is built for PyPI's
# CUDA torch and fails to load beside the CPU wheel from /opt/wheels ("operator torchvision::nms does not exist").
# transformers imports torchvision whenever it is installed, so a broken one breaks CLIPTextModel and diffusers'
# pipelines: remove it.
if "$venv/bin/python" -m pip show torchvision >/dev/null 2>&1 && ! "$venv/bin/python" -c "import torchvision" >/dev/null 2>&1; then
    echo "python-env: removing torchvision, which does not load with this torch (only open_clip_torch wanted it)"
    "$venv/bin/python" -m pip uninstall --quiet --yes torchvision
fi
rm -f "$venv/.installed-$(basename "$requirements")-"*
touch "$stamp"
echo "python-env: done"
