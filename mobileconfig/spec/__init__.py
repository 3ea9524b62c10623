"""The YAML front end: read a spec (line numbers kept), check it, compile it to a Profile."""
