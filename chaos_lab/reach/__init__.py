"""Reach: proof that a run's faults met the code they were aimed at.

`events` gathers what happened (the engine's `REACH` lines, the lab's own records), `goals` judges each
scenario's declared goals against them (a run that misses one is `vacuous`); `models.ReachMap` counts both
over a whole run for the report (which events happened where, which goals were never met)."""
