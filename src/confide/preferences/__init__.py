"""Users' settings: memory on or off, how long their conversations are kept."""
