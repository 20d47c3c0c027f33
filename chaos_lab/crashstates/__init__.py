"""Crash-state enumeration (ALICE-style): record the engine's system calls once, build every disk
state a crash
could leave (process crash, power loss), recover each with the real engine and judge it with the checkers.

Data flows one way: workload -> record (strace) -> trace (typed ops) -> states -> broker_state + recover ->
judge (checkers) -> report. See docs/crash-states.md.
"""
