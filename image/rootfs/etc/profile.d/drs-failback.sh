# SSH logins get the wizard too (attached to the running failback, if any); the shells the
# wizard's consoles offer set DRS_CONSOLE and do not start it again.
if [ -n "${SSH_TTY:-}" ] && [ -z "${DRS_CONSOLE:-}" ]; then
    exec /usr/local/sbin/drs-console ssh
fi
