"""The widgets of the inspector's main screen: header, exchanges table, filter
bar, step bar, notes bar, and the detail pane (``components/detail/``)."""
