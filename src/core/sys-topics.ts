/**
 * `$SYS/broker/...` statistics, published as retained messages every `interval` seconds.
 * Topic names follow Mosquitto's where one exists, so existing dashboards keep working.
 */
import { VERSION } from "../config/version.ts";
import type { Broker } from "./broker.ts";
import type { BrokerContext } from "./context.ts";

export class SysTopics {
  private timer: unknown = null;

  constructor(private readonly broker: Broker & BrokerContext, interval: number, runtime: string) {
    if (interval <= 0) return;
    const version = `gannet ${VERSION}${runtime ? ` (${runtime})` : ""}`;
    // Publish once right away so $SYS is there for the first subscribers, then on the interval.
    broker.clock.setTimeout(() => {
      this.publish("version", version);
      this.update();
    }, 0);
    this.timer = broker.clock.setInterval(() => this.update(), interval * 1000);
  }

  stop(): void {
    this.broker.clock.clearInterval(this.timer);
  }

  private publish(topic: string, value: string | number): void {
    this.broker.publish({ topic: `$SYS/broker/${topic}`, payload: String(value), retain: true });
  }

  private update(): void {
    const s = this.broker.stats;
    const uptime = Math.floor((this.broker.clock.now() - s.startedAt) / 1000);
    this.publish("uptime", `${uptime} seconds`);
    this.publish("clients/connected", s.clientsConnected);
    this.publish("clients/total", s.sessions);
    this.publish("clients/disconnected", s.sessions - s.clientsConnected);
    this.publish("messages/received", s.messagesReceived);
    this.publish("messages/sent", s.messagesSent);
    this.publish("publish/messages/dropped", s.publishDropped);
    this.publish("bytes/received", s.bytesReceived);
    this.publish("bytes/sent", s.bytesSent);
    this.publish("subscriptions/count", s.subscriptions);
    this.publish("retained messages/count", s.retained);
  }
}
