"""Developer machine and `make demo`: DEBUG on, the embedded default otherwise."""

import os

# Must be set before base.py reads the environment: development keys exist only with DEBUG.
os.environ.setdefault("DEBUG", "true")

from .base import *

INTERNAL_IPS = ["127.0.0.1"]
