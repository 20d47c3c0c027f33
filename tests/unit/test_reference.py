"""docs/reference.md is generated from the code (`chaos-lab reference`): CI fails when it is stale, and every
fault param and step field has its one line of meaning (a new param without one fails here, not in review)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos_lab.checkers import CHECKERS
from chaos_lab.cli import main as cli
from chaos_lab.cli import reference
from chaos_lab.faults.registry import FAULTS
from chaos_lab.reach.events import ENGINE_EVENTS, LAB_EVENTS
from chaos_lab.scenarios.file_format import _STEPS

DOC = Path(__file__).resolve().parents[2] / "docs" / "reference.md"
KINDS = FAULTS


def test_docs_reference_is_what_the_code_generates() -> None:
    assert DOC.read_text(encoding="utf-8") == reference.reference(), (
        f"docs/reference.md is stale: regenerate it with `{reference.REGENERATE}`"
    )


def test_every_fault_param_and_step_field_has_a_meaning() -> None:
    missing = [
        f"{kind}.{name}"
        for kind, cls in KINDS.items()
        for name, field in cls.Params.model_fields.items()
        if not (field.description or reference.FAULT_PARAMS.get(kind, {}).get(name))
    ]
    meanings = reference.STEP_FIELDS
    missing += [
        f"{action}.{name}"
        for action, model in _STEPS.items()
        for name, field in model.model_fields.items()
        if name != "action"
        and not (field.description or meanings.get(f"{action}.{name}") or meanings.get(name))
    ]
    assert not missing


def test_no_meaning_names_a_param_or_field_that_does_not_exist() -> None:
    stale = [
        f"{kind}.{name}"
        for kind, params in reference.FAULT_PARAMS.items()
        for name in params
        if kind not in KINDS or name not in KINDS[kind].Params.model_fields
    ]
    fields = {name for model in _STEPS.values() for name in model.model_fields}
    for key in [*reference.STEP_FIELDS, *reference.STEP_ALLOWED]:
        action, _, name = key.rpartition(".")
        unknown_action = action and (action not in _STEPS or name not in _STEPS[action].model_fields)
        if unknown_action or name not in fields:
            stale.append(key)
    assert not stale


def test_everything_is_in_the_reference() -> None:
    text = reference.reference()
    assert all(f"### `{kind}`" in text for kind in KINDS)
    assert all(f"### `{name}`" in text for name in CHECKERS)
    assert all(f"### `{action}`" in text for action in _STEPS)
    assert all(f"| `{event}` |" in text for event in [*ENGINE_EVENTS, *LAB_EVENTS])
    assert "| `leave_bytes` | integer (optional) | 0..1_099_511_627_776 bytes | none |" in text
    assert "| `recover_within_s` | number | >= 0 | `20` |" in text


@pytest.mark.parametrize(
    "command,heading",
    [
        ("kinds", "## Fault kinds"),
        ("checkers", "## Checkers"),
        ("steps", "## Steps"),
        ("reach", "## Reach events"),
        ("reference", "# chaos-lab reference"),
    ],
)
def test_commands_print_their_section(command: str, heading: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([command]) == 0
    assert capsys.readouterr().out.startswith(heading)
