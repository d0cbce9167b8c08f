"""judicial."""
