# SPDX-License-Identifier: GPL-2.0-only
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

# Symbols come from the machine's own files in these tests: a debuginfod server configured
# here (Debian's libdebuginfod-common can set DEBUGINFOD_URLS for login shells) would be
# asked for every file without a local debug file. test_debuginfo.py names its own.
for _k in [k for k in os.environ if k.startswith("DEBUGINFOD_")]:
    del os.environ[_k]
