"""The detail pane and its tabs: Messages, Scope, Hex, Timeline, Sequence, Layers."""
