"""collections layer of graphengine (see DESIGN.md)."""
