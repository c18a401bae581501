"""The JavaScript unit tests (tests/frontend/js/*.test.mjs: the brush, the click queue, the clock, the
practice judge) run by node's test runner, so `make test` fails when they fail."""

import shutil
import subprocess
from pathlib import Path

import pytest

JS_TESTS = Path(__file__).resolve().parent / "js"


def test_the_javascript_unit_tests_pass_under_nodes_test_runner():
    node = shutil.which("node")
    if node is None:
        pytest.fail("node (v20 or later) is needed for the JavaScript unit tests")
    files = sorted(str(path) for path in JS_TESTS.glob("*.test.mjs"))
    assert len(files) >= 3, "the JavaScript unit tests are missing"
    result = subprocess.run([node, "--test", *files], capture_output=True, text=True, timeout=120)
    summary = "\n".join(line for line in result.stdout.splitlines() if line.startswith(("# pass", "# fail", "not ok")))
    assert result.returncode == 0, f"node --test failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
    assert "# fail 0" in result.stdout, summary
