"""The engine imports pyarrow when it starts, in the main thread, not on the first bar request.

Imported lazily in a worker thread while the engine's other threads ran, pyarrow deadlocked the whole engine
process now and then under the lab's preloads (libfiu, libfaketime): 7 of 70 starts in the engine image,
0 of 40 with the import at start (docs/lab-stack.md)."""

from __future__ import annotations

import subprocess
import sys


def test_loading_the_app_has_already_imported_pyarrow_parquet() -> None:
    code = (
        "import sys, threading\n"
        "import solat_engine.api.app\n"
        "assert threading.active_count() == 1, threading.enumerate()\n"
        "print('pyarrow.parquet' in sys.modules, 'pyarrow' in sys.modules)\n"
    )
    cmd = [sys.executable, "-c", code]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["True", "True"], out
