#!/usr/bin/env bash
# Create the virtual environment .venv with PyTorch and adrec (editable, with test tools).
#
# PyTorch comes as a CPU build unless a torch is already installed in .venv: first
# torch==2.13.0+cpu from the configured package sources (a local wheel folder, for
# example), else torch 2.13.0 from the PyTorch CPU index. To use a GPU, install the
# CUDA build of torch into .venv first (see pytorch.org); this script keeps it.
set -euo pipefail

cd "$(dirname "$0")/.."
venv="${VENV:-.venv}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi

if ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
    if ! "$venv/bin/pip" install "torch==2.13.0+cpu"; then
        echo "setup: no local CPU wheel of torch; installing from the PyTorch CPU index" >&2
        "$venv/bin/pip" install "torch==2.13.0" \
            --index-url https://download.pytorch.org/whl/cpu \
            --extra-index-url https://pypi.org/simple
    fi
fi

"$venv/bin/pip" install -e ".[dev]"
touch "$venv/.installed"
echo "setup: ready; try $venv/bin/adrec demo"
