/** The public surface adapters import: the broker, its ports and the shared adapter helpers. */
export { createBroker } from "./core/broker.ts";
export type { Broker, BrokerPorts, BrokerStats, ListenerOptions, PublishOptions } from "./core/broker-api.ts";
export type {
  BridgeSnapshot,
  ListenerSnapshot,
  Page,
  PageQuery,
  RetainedQuery,
  RetainedSnapshot,
  SessionDetail,
  SessionQuery,
  SessionSummary,
  SubscriptionQuery,
  SubscriptionSnapshot,
} from "./core/management.ts";
export type { LocalDelivery, LocalPublish, LocalSession, LocalSessionOptions, LocalSessionStats } from "./core/local-session.ts";
export type * from "./model/message.ts";
export type { SubscriptionInfo, SubscriptionOptions } from "./model/subscription.ts";
export { ReasonCode } from "./protocol/reason-codes.ts";
export { errorText } from "./util/errors.ts";
export type { ConnectionEvents, RemoteInfo, Transport, TransportKind } from "./ports/transport.ts";
export type { Clock } from "./ports/clock.ts";
export { systemClock } from "./ports/clock.ts";
export type { LogFields, Logger, LogLevel } from "./ports/logger.ts";
export { createLogger, silentLogger } from "./ports/logger.ts";
export type * from "./hooks/types.ts";
export { OutgoingBuffer } from "./util/outgoing-buffer.ts";
export { allocatePacketsFromSlabs } from "./util/bytes.ts";
export type { ByteSink } from "./util/outgoing-buffer.ts";
export { configSchema, defaultConfig } from "./config/schema.ts";
export { type NativeArgon2id, useNativeArgon2id } from "./security/passwords.ts";
export type { Config, ListenerConfig, MqttLimits } from "./config/schema.ts";
export { parseArgs, USAGE } from "./config/cli.ts";
export { VERSION } from "./config/version.ts";
export type { CliResult, ConfigOptions } from "./config/cli.ts";
// Not loadConfig (src/config/load.ts): no adapter needs it, and reaching it from here would put `yaml`
// in the executable's main chunk (src/app/config-source.ts loads it only for a file).
export type { LoadOptions, LoadResult } from "./config/load-core.ts";
export { serve } from "./app/serve.ts";
export { parseProcLimits } from "./app/open-files.ts";
export type {
  Acceptor,
  AssetReader,
  CommandIo,
  Fetch,
  FileSystem,
  Host,
  Listener,
  PathStat,
  ProcessStats,
  RuntimeAdapter,
  TlsOptions,
} from "./ports/runtime.ts";
export { Readiness } from "./app/readiness.ts";
export * from "./store/mod.ts";
export type { Dial, DialedConnection, DialHandlers, DialKind, DialOptions } from "./ports/dial.ts";
export { connectWebSocket, withTimeout } from "./util/websocket-dial.ts";
