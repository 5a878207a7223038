/** The public surface adapters import: the broker, its ports and the shared adapter helpers. */
export { createBroker } from "./core/broker.ts";
export type { Broker, BrokerPorts, BrokerStats, PublishOptions } from "./core/broker.ts";
export type { ConnectionEvents, RemoteInfo, Transport, TransportKind } from "./ports/transport.ts";
export type { Clock } from "./ports/clock.ts";
export { systemClock } from "./ports/clock.ts";
export type { LogFields, Logger, LogLevel } from "./ports/logger.ts";
export { createLogger, silentLogger } from "./ports/logger.ts";
export type * from "./hooks/types.ts";
export { OutgoingBuffer } from "./util/outgoing-buffer.ts";
export type { ByteSink } from "./util/outgoing-buffer.ts";
export { configSchema, defaultConfig } from "./config/schema.ts";
export type { Config, ListenerConfig, MqttLimits } from "./config/schema.ts";
export { parseArgs, USAGE, VERSION } from "./config/cli.ts";
export type { CliResult } from "./config/cli.ts";
export { serve } from "./app/serve.ts";
export type { Listener, RuntimeAdapter } from "./app/serve.ts";
