"""Exit statuses shared by every chaos-lab command (run, replay, report, explore, selftest, crashstates,
soak), so one number means one thing everywhere: CI and on-call scripts branch on them."""

from __future__ import annotations

EXIT_OK = 0  # everything passed (every checker, every reach goal)
EXIT_FAILED = 1  # a verdict failed against the engine
EXIT_USAGE = 2  # bad input: an argument, a scenario file, a run directory (one line on stderr)
EXIT_LAB = 3  # the lab could not run a step, or the lab itself failed: never counted against the engine
EXIT_VACUOUS = 4  # nothing failed, but a run's faults never reached the goals it declares: it tested nothing
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGTERM: faults healed and the lab taken down first

#: the table printed by `chaos-lab --help` and kept in README.md and docs/chaos-lab.md
EXIT_TABLE = (
    (EXIT_OK, "passed: every checker, every reach goal"),
    (EXIT_FAILED, "a checker's verdict failed against the engine"),
    (EXIT_USAGE, "bad input (argument, scenario file, run directory): one line on stderr"),
    (EXIT_LAB, "the lab could not run a step, or the lab itself failed (not the engine's fault)"),
    (EXIT_VACUOUS, "nothing failed, but a run was vacuous: its faults never reached their goals"),
    (EXIT_INTERRUPTED, "interrupted (Ctrl-C, SIGTERM): faults healed, lab taken down"),
)


def markdown_table() -> str:
    """The table as README.md and docs/chaos-lab.md carry it (a unit test checks both still do)."""
    rows = "\n".join(f"| `{code}` | {text} |" for code, text in EXIT_TABLE)
    return f"| exit | meaning |\n|---|---|\n{rows}\n"
