"""PLC protocol drivers: asyncio only, no Qt. Each driver turns a protocol into Samples."""
