"""Running one experiment (Chaos Toolkit's vocabulary): the plan from a scenario and a seed, the runner's
phases, the steps' actions, the shared context and its steady-state hypothesis, what is observed
afterwards."""
