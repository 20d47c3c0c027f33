"""The client side (Jepsen's client): the engine's HTTP client, bursts of signals and the /health prober, the
history they record, and bounded waits."""
