"""The runtime side's heart, no Qt: tag runtime, command path, station, loop thread."""
