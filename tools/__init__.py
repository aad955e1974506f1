"""Developer tools that are not shipped: demo history generator, screenshot scripts."""
