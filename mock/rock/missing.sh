#!/bin/sh
# Installed as creatorapi-mock when the rock was built without the mock's
# libraries (make rock-mock): says what to install, and fails.
echo "creatorapi-mock: this creatorapi rock was installed without the mock API:" \
  "its build needs @NEEDS@." >&2
echo "  apt-get install -y @NEEDS@" >&2
echo "then install the creatorapi rock again (see its README, Install)." >&2
exit 127
