"""The crash-state checkers: invariants judged on every recovered crash state."""
