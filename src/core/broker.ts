// placeholder: being written
import type { Config } from "../config/schema.ts";
import type { Clock } from "../ports/clock.ts";
import type { Logger } from "../ports/logger.ts";
import type { ConnectionEvents, Transport } from "../ports/transport.ts";
import type { Hooks, MessageProperties, QoS } from "../hooks/types.ts";

export interface PublishOptions {
  topic: string;
  payload: Uint8Array | string;
  qos?: QoS;
  retain?: boolean;
  properties?: MessageProperties;
  /** v5 Message Expiry Interval in seconds. */
  messageExpiryInterval?: number;
}

export interface BrokerStats {
  startedAt: number;
  clientsConnected: number;
  clientsTotal: number;
  messagesReceived: number;
  messagesSent: number;
  bytesReceived: number;
  bytesSent: number;
  publishDropped: number;
  subscriptions: number;
  retained: number;
}

export interface Broker {
  accept(transport: Transport): ConnectionEvents;
  publish(options: PublishOptions): Promise<void>;
  addHooks(hooks: Hooks): void;
  readonly stats: BrokerStats;
  close(): Promise<void>;
}

export interface BrokerPorts {
  logger?: Logger;
  clock?: Clock;
  hooks?: Hooks[];
  /** Shown in $SYS/broker/version, e.g. "bun 1.4.5". */
  runtime?: string;
}

export function createBroker(_config: Config, _ports: BrokerPorts = {}): Broker {
  throw new Error("not yet");
}
