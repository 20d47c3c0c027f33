"""chaos_lab: faults, workload history, checkers and scenarios for the solat execution engine."""
