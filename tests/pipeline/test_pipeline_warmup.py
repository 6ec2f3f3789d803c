"""The warm-up loads every kernel signature the core stages use, so no worker compiles one beside another."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from _batch import EXAMPLE, ROOT

SCRIPT = """
import json, sys
from audiokit.pipeline.warmup import KERNEL_MODULES, warm_kernels
import importlib

def signatures():
    found = {}
    for name in KERNEL_MODULES:
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if hasattr(value, "signatures") and hasattr(value, "py_func"):
                found[name + "." + attribute] = sorted(str(signature) for signature in value.signatures)
    return found

warm_kernels()
warmed = signatures()
from audiokit.transcode import build_ladder
for ladder in ("spotify-like", "podcast"):
    build_ladder(sys.argv[1], sys.argv[2] + "/" + ladder, ladder=ladder, qa="fast")
after = signatures()
print(json.dumps({name: sorted(set(after[name]) - set(warmed.get(name, []))) for name in after}))
"""


def test_a_ladder_after_the_warm_up_needs_no_new_kernel_signature(tmp_path):
    """Each signature a ladder dispatches (read-only blocks from the engine among them) is one the warm-up
    compiled or loaded: a worker never compiles, so two workers never write one cache entry at once."""
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(EXAMPLE), str(tmp_path)], capture_output=True,
                          text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    new = {name: found for name, found in json.loads(done.stdout.splitlines()[-1]).items() if found}
    assert new == {}, new
