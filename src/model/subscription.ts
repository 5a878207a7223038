/**
 * Subscription options (MQTT 5 section 3.8.3.1; 3.1.1 has only the QoS), one type for every layer:
 * hooks see them with the filter, the topic index with the owning client, the store with the key.
 */
import type { QoS } from "./message.ts";

export interface SubscriptionOptions {
  /** Maximum QoS granted. */
  qos: QoS;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
  subscriptionIdentifier?: number;
}

/** A subscription as hooks see it: the filter (without a `$share/name/` prefix) and its share name. */
export interface SubscriptionInfo extends SubscriptionOptions {
  filter: string;
  /** Share name for `$share/<name>/<filter>` subscriptions. */
  shareName?: string;
}

/** A session's subscription as the broker keeps it. */
export interface Subscription extends SubscriptionOptions {
  clientId: string;
  /** The filter as the client sent it (including any `$share/name/` prefix): the session's key. */
  key: string;
  /** The filter matched against topics (without the share prefix). */
  filter: string;
  shareName?: string;
  /**
   * Set only when the ACL granted the filter although a deny rule covers part of it: false for a
   * topic this client may not read (checked per message at delivery). Never stored: see README.
   */
  mayRead?: (topic: string) => boolean;
}

/** The options of a 3.1.1 subscription or one with every v5 option at its default. */
export function defaultOptions(qos: QoS): SubscriptionOptions {
  return { qos, noLocal: false, retainAsPublished: false, retainHandling: 0 };
}

/** Just the options of a subscription (what the store keeps besides the key). */
export function optionsOf(s: SubscriptionOptions): SubscriptionOptions {
  const options: SubscriptionOptions = {
    qos: s.qos,
    noLocal: s.noLocal,
    retainAsPublished: s.retainAsPublished,
    retainHandling: s.retainHandling,
  };
  if (s.subscriptionIdentifier !== undefined) options.subscriptionIdentifier = s.subscriptionIdentifier;
  return options;
}
