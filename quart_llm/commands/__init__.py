"""Command groups of the command line (`cli` parses the top level and hands a group its
arguments): one module per group, each run on the services without serving."""
