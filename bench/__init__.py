"""Benchmarks of the engine's storage layer, reported as ratios against baselines measured in the same run."""
