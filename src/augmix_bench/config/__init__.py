"""Where configs become objects: the config tree's location, component building, validation."""
