#!/usr/bin/env bash
# What the end-to-end suite needs besides npm packages, installed only where missing:
# - the aws CLI v2, rclone and s3cmd (Debian packages), the real S3 clients the suite drives;
# - a hosts entry, loopback.bucketbell.test -> 127.0.0.1: a DNS name that resolves to loopback,
#   which the SSRF tests must see refused.
# Runs as root (CI) or through sudo.
set -euo pipefail
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)

need=()
[ -x /usr/bin/aws ] || need+=(awscli)
command -v rclone >/dev/null 2>&1 || need+=(rclone)
command -v s3cmd >/dev/null 2>&1 || need+=(s3cmd)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} (Debian packages)"
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! grep -Eq '^[[:space:]]*127\.0\.0\.1[[:space:]].*\bloopback\.bucketbell\.test\b' /etc/hosts; then
  echo "adding loopback.bucketbell.test to /etc/hosts"
  echo '127.0.0.1 loopback.bucketbell.test' | "${as_root[@]}" tee -a /etc/hosts >/dev/null
fi
