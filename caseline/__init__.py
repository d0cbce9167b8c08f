"""caseline."""
