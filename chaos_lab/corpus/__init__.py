"""The gate's corpus: explored schedules that reached something no other schedule reached (or once found a
bug), kept as scenario files in the repository's `corpus/` and run by `make chaos` as tier 5 (the fuzzers'
corpus, AFL's `afl-cmin`). Data flows one way: `explore` writes `explore.json`, `corpus collect` reads it."""
