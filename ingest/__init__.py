"""Turns files into stored, indexed chunks: reading, cleaning, splitting, embedding, storing."""
