"""testing layer of graphengine (see DESIGN.md)."""
