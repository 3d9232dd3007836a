#!/usr/bin/env bash
# Install the LiteLLM proxy into bench/.litellm-venv (gitignored), for `run.py --litellm`.
#
# Best effort: it needs PyPI, and it is kept apart from the project's venv so that
# LiteLLM's many pinned dependencies cannot change what Gatehouse runs with.
# Usage: bash bench/litellm.sh [PYTHON]   (default: python3.11, else python3)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.litellm-venv"
python="${1:-$(command -v python3.11 || command -v python3)}"

if [[ -x "$venv/bin/litellm" ]]; then
    echo "litellm already installed: $("$venv/bin/litellm" --version 2>/dev/null | tail -n 1)"
    exit 0
fi

"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
timeout 900 "$venv/bin/python" -m pip install --quiet 'litellm[proxy]'
echo "installed: $("$venv/bin/python" -m pip show litellm | grep -i '^version')"
echo "run: .venv/bin/python bench/run.py --litellm"
