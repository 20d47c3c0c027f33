"""Run reports: summary.json, junit.xml, history.jsonl, container logs and an offline report.html."""
