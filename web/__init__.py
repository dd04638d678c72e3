"""Dashboard templates and static assets (package data ``scald_monitor.web``; see scald_monitor.serve)."""
