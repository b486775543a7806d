"""The Textual dashboard: a thin front end on the core (knobs, runs, history, profiles, deploy).

Only this package (and hanna_tui.commands.tui) imports textual; the core never does.
"""
