"""Users, roles, the access policy of the command path, and the hash-chained audit trail.

Runtime side: no Qt. The core wires it (the station, ``hmi write``); the ui and the app use it
through the core or directly for log-on and user management.
"""
