/**
 * The open files limit bounds connections whatever the configuration says: past it accept()
 * fails (Deno logs each failure, Bun stays silent) and new clients wait unanswered, the
 * well-behaved ones included. So `mqtt.maxConnections: 0` ("no limit") means the limit minus a
 * reserve for the store, the listeners and the logs, where the broker refuses the extra sockets
 * itself, with a log line; a configured value above that gets a warning at start.
 */
import type { MqttLimits } from "../config/schema.ts";
import type { Logger } from "../ports/logger.ts";

/** Descriptors kept for everything but client sockets (SQLite and its WAL, listeners, stdio). */
export const RESERVED_FILES = 64;

/** The soft open files limit from the text of /proc/self/limits, or undefined ("unlimited", not found). */
export function parseProcLimits(text: string): number | undefined {
  const soft = /^Max open files\s+(\d+)/m.exec(text);
  return soft ? Number(soft[1]) : undefined;
}

/** Connections the process can hold given its open files limit. */
export function connectionCeiling(openFiles: number): number {
  return Math.max(16, openFiles - RESERVED_FILES);
}

/** The MQTT limits with maxConnections bounded by the open files limit (when it is known). */
export function boundConnections(mqtt: MqttLimits, openFiles: number | undefined): MqttLimits {
  if (openFiles === undefined || mqtt.maxConnections !== 0) return mqtt;
  return { ...mqtt, maxConnections: connectionCeiling(openFiles) };
}

/** One line at start: where the connection limit comes from, or why it cannot hold. */
export function logConnectionLimit(mqtt: MqttLimits, openFiles: number | undefined, logger: Logger): void {
  if (openFiles === undefined) return;
  const ceiling = connectionCeiling(openFiles);
  if (mqtt.maxConnections === 0) {
    logger.info("connections limited by the open files limit", { openFiles, maxConnections: ceiling });
  } else if (mqtt.maxConnections > ceiling) {
    logger.warn("mqtt.maxConnections is above what the open files limit allows: raise LimitNOFILE or lower it", {
      openFiles,
      maxConnections: mqtt.maxConnections,
      usable: ceiling,
    });
  }
}
