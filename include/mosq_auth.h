/* The broker types mosq-auth needs, from the system's mosquitto headers (mosquitto-dev).
 * mosquitto_broker.h must come before mosquitto_plugin.h: in 2.0.x the latter uses
 * mosquitto_plugin_id_t without including the former. */
#include <stdbool.h>
#include <stdint.h>
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
