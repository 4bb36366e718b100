"""graph layer of graphengine (see DESIGN.md)."""
