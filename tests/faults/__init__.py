"""Faults: crashes and outages under load; nothing recorded is lost or duplicated."""
