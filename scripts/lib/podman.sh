# Sourced by the image scripts: podman settings for machines like CI's (containers in a
# container): runc as the runtime, and ulimits the runtime may set — the host's hard limits,
# nproc also at most kernel.pid_max (runc cannot set more there).
#   write_containers_conf FILE; export CONTAINERS_CONF=FILE
write_containers_conf() {
  local nofile nproc pid_max
  nofile=$(ulimit -Hn); nproc=$(ulimit -Hu)
  pid_max=$(cat /proc/sys/kernel/pid_max 2>/dev/null || echo 32768)
  [ "$nofile" = unlimited ] && nofile=1048576
  [ "$nproc" = unlimited ] && nproc=$pid_max
  [ "$nproc" -gt "$pid_max" ] && nproc=$pid_max
  cat > "$1" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
runtime = "runc"
CONF
}
