"""The inspector's modal screens: help, notes, search, breakpoint, and the
save, export and re-send dialogs."""
