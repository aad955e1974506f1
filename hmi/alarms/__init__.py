"""ISA-18.2 style alarm engine and its journal."""
