"""The application shell: command line, headless run. No Qt except where the GUI is started."""
