/**
 * `logging.level: debug`: one line per subscribe, unsubscribe and publish, so a field engineer can
 * see what a device does (topic, QoS, sizes; never payloads). Observer hooks, added only when the
 * level is debug, so the publish path pays nothing otherwise. Connects are logged at info by the core.
 */
import type { Hooks } from "../hooks/types.ts";
import type { Logger } from "../ports/logger.ts";

export function debugHooks(logger: Logger): Hooks {
  return {
    id: "debug-log",
    onSubscribed(client, subscription) {
      logger.debug("subscribed", {
        clientId: client.clientId,
        username: client.username,
        filter: subscription.shareName !== undefined ? `$share/${subscription.shareName}/${subscription.filter}` : subscription.filter,
        qos: subscription.qos,
        noLocal: subscription.noLocal || undefined,
        retainHandling: subscription.retainHandling || undefined,
      });
    },
    onUnsubscribed(client, filter) {
      logger.debug("unsubscribed", { clientId: client.clientId, username: client.username, filter });
    },
    onPublished(client, message) {
      const clientId = client?.clientId ?? message.origin;
      if (clientId === undefined || message.topic.startsWith("$SYS/")) return; // the broker's own $SYS updates
      logger.debug("published", {
        clientId,
        topic: message.topic,
        qos: message.qos,
        retain: message.retain || undefined,
        bytes: message.payload.length,
      });
    },
  };
}
