"""Planted engine bugs for the crash-state lab: each is a source patch applied to a scratch copy of
solat_engine (the real tree is never touched). Put the copy first on PYTHONPATH (`--engine-src`) and both the
traced engine and the recovering engine run the mutant."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.processes import REPO_ROOT

ENGINE_PACKAGE = REPO_ROOT / "engine" / "solat_engine"

# name -> (file under solat_engine, [(old text, new text), ...]); each old text must occur exactly once.
MUTANTS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    # (a) the ledger appends without fsync: acknowledged records live only in the page cache.
    "ledger-append-skips-fsync": (
        "execution/ledger.py",
        [
            (
                "                write_all(self._fd, line)\n                op = \"fsync\"\n"
                "                os.fsync(self._fd)\n",
                "                write_all(self._fd, line)\n",
            ),
            (
                "                    if error is None:\n                        op = \"fsync\"\n"
                "                        try:\n                            os.fsync(self._fd)\n",
                "                    if error is None:\n                        op = \"fsync\"\n"
                "                        try:\n                            pass\n",
            ),
        ],
    ),
    # (b) the kill switch is written to a temp file, fsynced and renamed, but its directory is never fsynced.
    "kill-switch-rename-without-dir-fsync": (
        "execution/kill_switch.py",
        [
            ("import hmac\n", "import hmac\nimport os\n"),
            (
                "            atomic_write_json(self.state_file, state)\n",
                "            tmp = self.state_file.with_name('.' + self.state_file.name + '.tmp')\n"
                "            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)\n"
                "            os.write(fd, state.model_dump_json().encode() + b'\\n')\n"
                "            os.fsync(fd)\n"
                "            os.close(fd)\n"
                "            os.replace(tmp, self.state_file)\n",
            ),
        ],
    ),
    # (c) the position snapshot is truncated and rewritten in place (fsynced, but not atomic).
    "snapshot-truncate-rewrite": (
        "execution/snapshots.py",
        [
            ("import contextlib\n", "import contextlib\nimport os\n"),
            (
                "            atomic_write_json(self.path, snapshot)\n",
                "            self.path.parent.mkdir(parents=True, exist_ok=True)\n"
                "            with open(self.path, 'wb') as fh:\n"
                "                fh.write(snapshot.model_dump_json().encode() + b'\\n')\n"
                "                fh.flush()\n"
                "                os.fsync(fh.fileno())\n",
            ),
        ],
    ),
    # (d) the client is answered 200 as soon as the broker fills; the outcome records are written afterwards.
    "ack-before-outcome-record": (
        "execution/router.py",
        [
            (
                '        return self._outcome(intent, [(EntryType.SUBMITTED, {"client_order_id": coid}),\n'
                "                                      self._order_record(EntryType.FILL, order)])\n",
                '        records = [(EntryType.SUBMITTED, {"client_order_id": coid}),\n'
                "                   self._order_record(EntryType.FILL, order)]\n"
                "        threading.Timer(0.05, self._outcome, args=(intent, records)).start()\n"
                "        return self._result(intent, Outcome.FILLED,"
                " broker_order_id=order.broker_order_id)\n",
            ),
        ],
    ),
}


def make_mutant(name: str, dest: Path) -> Path:
    """Copy solat_engine into dest/<name>/solat_engine with the mutation applied; returns the PYTHONPATH
    entry (dest/<name>)."""
    rel, patches = MUTANTS[name]
    root = dest / name
    shutil.copytree(ENGINE_PACKAGE, root / "solat_engine", ignore=shutil.ignore_patterns("__pycache__"))
    target = root / "solat_engine" / rel
    text = target.read_text()
    for old, new in patches:
        if text.count(old) != 1:
            raise AssertionError(
                f"mutant {name}: patch anchor found {text.count(old)} times in {rel}: {old!r}"
            )
        text = text.replace(old, new)
    target.write_text(text)
    return root
