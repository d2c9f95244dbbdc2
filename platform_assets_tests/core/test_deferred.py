"""`lib/deferred.py`: a deferred module imports its real module on first attribute read, once,
from any thread."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _run(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
                            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


def test_the_real_module_is_imported_on_first_attribute_read() -> None:
    # A fresh interpreter: `fractions` is imported by nothing at start-up.
    out = _run(
        "import sys\n"
        "from platform_assets.lib.deferred import deferred\n"
        "fractions = deferred('fractions')\n"
        "print('fractions' in sys.modules)\n"
        "print(fractions.Fraction(1, 3) + fractions.Fraction(1, 6))\n"
        "print('fractions' in sys.modules, fractions.Fraction is sys.modules['fractions'].Fraction)\n"
    )
    assert out.splitlines() == ["False", "1/2", "True True"]


def test_threads_reading_together_get_one_module() -> None:
    out = _run(
        "import threading\n"
        "from platform_assets.lib.deferred import deferred\n"
        "decimal = deferred('decimal')\n"
        "seen = []\n"
        "start = threading.Barrier(8)\n"
        "def read():\n"
        "    start.wait()\n"
        "    seen.append(decimal.Decimal)\n"
        "threads = [threading.Thread(target=read) for _ in range(8)]\n"
        "[t.start() for t in threads]\n"
        "[t.join() for t in threads]\n"
        "print(len(seen), len({id(cls) for cls in seen}))\n"
    )
    assert out == "8 1"


def test_a_missing_attribute_raises_attribute_error() -> None:
    from platform_assets.lib.deferred import deferred

    json = deferred("json")
    try:
        json.no_such_function  # noqa: B018
    except AttributeError as error:
        assert "no_such_function" in str(error)
    else:
        raise AssertionError("expected AttributeError")
    assert json.dumps([1]) == "[1]"
