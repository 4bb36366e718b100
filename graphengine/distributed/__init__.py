"""distributed layer of graphengine (see DESIGN.md)."""
