#!/bin/sh
# parleyd-env.sh PARLEYD: print /etc/parley/parleyd.env, every setting of
# PARLEYD (from its --help, which prints the settings table of
# gateway/config.c) commented out at its default, with its help text.
set -eu
parleyd=$1
cat <<'HEAD'
# /etc/parley/parleyd.env: the settings of parleyd, read by systemd
# (EnvironmentFile= in parleyd.service) before it starts the service.
#
# Every setting is listed, commented out at its default.  Uncomment and
# change what you need, then: systemctl restart parleyd
# Lines are NAME=value; quote a value with spaces ("..."), no $ expansion.
# The file may hold a password (DATABASE_URL): keep it mode 0640, root.
#
# Every setting is described in /usr/share/doc/parleyd/ (gateway.md).
HEAD
"$parleyd" --help | awk '
    /^  [A-Z][A-Z0-9_]+ +default: / {
        name = $1
        value = $0; sub(/^.*default: /, "", value)
        if (value == "(empty)") value = ""
        next
    }
    name != "" && /^      / {
        help = $0; sub(/^ +/, "", help)
        printf "\n# %s\n#%s=%s\n", help, name, value
        name = ""
        count++
    }
    END { if (count == 0) exit 1 }
'
