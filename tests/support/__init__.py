"""Test support: real broker and engine processes on loopback (free ports), for the chaos tests."""
