"""A user module whose own import fails: loading it must raise ModuleNotFoundError.

The importer must let this error through unchanged (it names
``this_package_does_not_exist_xyz``, not this module), so the CLI can show the
user's traceback instead of "Could not import module".
"""

import this_package_does_not_exist_xyz  # noqa: F401

app = None
