"""Caseline's shared packages: the published language (`events`) and the service kit (`kit`)."""
