"""comm layer of graphengine (see DESIGN.md)."""
