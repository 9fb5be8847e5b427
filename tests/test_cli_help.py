"""The training and benchmark scripts answer --help, and a bad flag, without loading TensorFlow: in a
fresh interpreter, each script's main runs with the flags and neither TensorFlow nor Keras is
among the loaded modules after argparse exits."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ("bench.decode", "bench.train", "train.evaluate", "train.model_card", "train.rerank",
           "train.train", "train.train_scorer", "train.ensure_model",
           "bench.load", "bench.hostile", "bench.recycle", "bench.judge", "bench.explain",
           "bench.memory", "bench.support", "bench.confidence",
           "train.support_negatives")
CHECK = """\
import importlib, json, sys
try:
    importlib.import_module(sys.argv[1]).main(sys.argv[2:])
    code = None
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "heavy": sorted({"tensorflow", "keras"} & set(sys.modules))}))
"""


def run_main(module: str, *argv: str) -> tuple[dict, str, str]:
    """The exit code and the heavy modules loaded, the script's own output, and its stderr."""
    out = subprocess.run([sys.executable, "-c", CHECK, module, *argv], capture_output=True,
                         text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    *printed, last = out.stdout.splitlines()
    return json.loads(last), "\n".join(printed), out.stderr


@pytest.mark.parametrize("module", SCRIPTS)
def test_help_loads_no_tensorflow(module):
    result, printed, _ = run_main(module, "--help")
    assert result == {"code": 0, "heavy": []}
    assert printed.startswith("usage:") and "--help" in printed


@pytest.mark.parametrize("module", SCRIPTS)
def test_a_bad_flag_fails_with_argparse_reason_and_no_tensorflow(module):
    result, _, stderr = run_main(module, "--no-such-flag")
    assert result == {"code": 2, "heavy": []}
    assert stderr.startswith("usage:") and "Traceback" not in stderr
    assert ": error: " in stderr.strip().splitlines()[-1]
