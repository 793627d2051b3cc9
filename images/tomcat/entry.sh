#!/bin/sh
# Entry point of localhost/warmstart/tomcat:10. `catalina` runs Debian's Tomcat 10 in the
# foreground on port 8080 (TOMCAT_PORT), with JAVA_OPTS as given; any other command runs as given.
set -e
if [ "$1" = catalina ]; then
  shift
  export CATALINA_HOME=/usr/share/tomcat10 CATALINA_BASE=/var/lib/tomcat10
  export CATALINA_TMPDIR=/tmp JAVA_OPTS="${JAVA_OPTS:--Xms256m -Xmx256m}"
  if [ -n "${TOMCAT_PORT:-}" ]; then
    sed -i "s/port=\"8080\"/port=\"$TOMCAT_PORT\"/" /etc/tomcat10/server.xml
  fi
  mkdir -p /var/cache/tomcat10 /var/log/tomcat10
  exec /usr/share/tomcat10/bin/catalina.sh run "$@"
fi
exec "$@"
