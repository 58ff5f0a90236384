"""Builds started by the tests run in their own processes: no build server is started or used
(tests/test_server.py turns it on for itself, in a folder of its own)."""
import os

os.environ["DOSSIER_SERVER"] = "0"
