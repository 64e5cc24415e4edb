#!/usr/bin/env bash
# MQTT push against a real mosquitto on loopback: exact messages to a live
# subscriber, and a QoS 1 message kept for a persistent session that was
# offline. usage: fleet_mqtt.sh ITEST_BINARY
set -euo pipefail
itest=$1
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/openfota-fleet-mqtt.XXXXXX)
cleanup() { "$here/../../scripts/mosquitto.sh" stop "$dir" || true; rm -rf "$dir"; }
trap cleanup EXIT
addr=$("$here/../../scripts/mosquitto.sh" start "$dir")
echo "broker at $addr"
"$itest" mqtt "$addr"
"$itest" mqtt-reconnect "$addr" "$here/../../scripts/mosquitto.sh" "$dir"
