"""The dashboard's screens, one module each; the app builds them lazily (see tui/app.py MODES)."""
