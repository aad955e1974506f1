"""Store-and-forward of history, alarms and events to enterprise endpoints (runtime side, no Qt).

Cursors follow the store's per-stream sequences, so a late sample with an old
timestamp is never skipped; see docs/sync.md.
"""
