"""Load and validate project folders (project.yaml + screens/*.yaml)."""
