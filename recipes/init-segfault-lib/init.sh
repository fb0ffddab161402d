#!/bin/sh
# Seed 000: /init hands PID 1 over to a real program, dynamically linked against libkdlab.so.
mount -t proc proc /proc
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo KDLAB-INIT-READY
echo "kdlab: exec /sbin/init (dynamically linked: /lib64/ld-linux-x86-64.so.2, libc.so.6, /usr/lib/libkdlab.so)"
exec /sbin/init
