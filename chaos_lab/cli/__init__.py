"""Entry points: the `chaos-lab` command, the run session `run`, `replay` and `corpus admit` share, the soak,
the reference, exit statuses and signal handling."""
