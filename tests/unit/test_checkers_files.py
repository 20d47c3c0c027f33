"""corrupt_file_reported: a damaged bar file must come back as a 4xx naming path and offset."""

from __future__ import annotations

from typing import Any

from chaos_lab.checkers import corrupt_file_reported, run_checkers
from chaos_lab.models import CheckerSpec
from chaos_lab.synthetic import ObservationBuilder

PATH = "/data/bars/EURUSD/M1.parquet"


def _read(status: int, body: dict[str, Any]) -> ObservationBuilder:
    b = ObservationBuilder()
    b.inject("truncated", "truncate_parquet", {"path": PATH, "size_before": 900, "size_after": 300})
    b.heal("truncated")
    b.history.record("verify", "invoke", "bars_read")
    b.history.record(
        "verify", "fail" if status < 500 else "info", "bars_read", status_code=status, value=body
    )
    return b


def test_4xx_naming_path_and_offset_passes() -> None:
    body = {"ok": False, "reason": f"corrupt {PATH} at byte offset 296", "path": PATH, "offset": 296}
    verdict = corrupt_file_reported.check(_read(422, body).build())
    assert verdict.ok, verdict


def test_500_fails() -> None:
    verdict = corrupt_file_reported.check(_read(500, {"raw": "Internal Server Error"}).build())
    assert not verdict.ok
    assert "status 500" in verdict.summary


def test_error_without_path_fails() -> None:
    verdict = corrupt_file_reported.check(
        _read(422, {"ok": False, "reason": "bad file", "offset": 3}).build()
    )
    assert not verdict.ok


def test_no_damage_is_nothing_to_judge() -> None:
    assert corrupt_file_reported.check(ObservationBuilder().build()).unknown


def test_a_crashing_checker_is_a_failed_verdict() -> None:
    verdicts = run_checkers(
        [CheckerSpec(name="availability", params={"no_such_param": 1})], ObservationBuilder().build()
    )
    assert len(verdicts) == 1 and not verdicts[0].ok
    assert "checker crashed" in verdicts[0].summary


def test_a_read_before_the_damage_is_not_judged() -> None:
    """It saw the whole file: a 200 then is right (a lab test damaged the file one step after its read)."""
    b = ObservationBuilder()
    b.history.record("verify", "invoke", "bars_read")
    b.history.record("verify", "ok", "bars_read", status_code=200, value={"bars": 3})
    b.inject("truncated", "truncate_parquet", {"path": PATH, "size_before": 900, "size_after": 300})
    b.heal("truncated")
    verdict = corrupt_file_reported.check(b.build())
    assert verdict.unknown and "never read back" in verdict.summary
