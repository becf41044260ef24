"""Where configs become objects: the config tree's location, component building, validation.

Importing this package registers the resolvers the config tree uses (``config/resolvers.py``), so
that a config composed by any code that finds the tree here (``paths.config_dir``) resolves.
"""

from .resolvers import register_resolvers

register_resolvers()
