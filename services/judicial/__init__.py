"""The judicial service: charges, detention orders and deadlines, hearings, verdict, sentence."""
