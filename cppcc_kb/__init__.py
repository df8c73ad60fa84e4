"""Application shell of cppcc-kb: the one settings object and the one command line."""
