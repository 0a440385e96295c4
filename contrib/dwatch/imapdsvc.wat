# DWatch watch file for imapdsvc, the listening DMail IMAP service: copy to
# DMAIL_DIR/dwatch/imapdsvc.wat (the manual makes it from dpop.wat by changing its 3
# occurrences of DPOP to imapdsvc) and restart DWatch. If your DWatch does not take `#`
# comment lines, delete these.
#
# Change: the paths, if DMail is not in /usr/local/dmail (on Windows: DMAIL_DIR\imapdsvc.exe,
# DMAIL_DIR\log\imapdsvc.log, DMAIL_DIR\imapdsvc.pid); add `-i FILE` to exec for a
# configuration other than the default; keep the --pidfile path and pidf the same file.
#
# The fields, as this file assumes them (DPOP's own .wat is the authority; copy its time and
# rest values if they differ):
#   exec     the command DWatch starts. imapdsvc stays in the foreground and writes its PID to
#            the --pidfile path, removing it on a clean stop.
#   time     seconds between DWatch's checks that the process is alive.
#   rest     seconds DWatch waits after starting it before checking again.
#   logfile  the log DWatch looks at; imapdsvc writes LOG_PATH/imapdsvc.log.
#   pidf     the file DWatch reads the PID to check from.
exec /usr/local/dmail/imapdsvc --pidfile /usr/local/dmail/imapdsvc.pid
time 60
rest 10
logfile /usr/local/dmail/log/imapdsvc.log
pidf /usr/local/dmail/imapdsvc.pid
