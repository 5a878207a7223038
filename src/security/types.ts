/**
 * Security state kept in the store: MQTT users, ACL rules and bans. The broker reads it (users on
 * each CONNECT, ACL rules and bans cached and refreshed), the CLI and the admin API write it. Calls
 * are async and independent of the session store's group commit: each write is durable when its
 * promise resolves.
 */
import type { QoS } from "../model/message.ts";

export interface UserRecord {
  username: string;
  /** PHC string: `$argon2id$...` (Gannet's own), or an imported Mosquitto `$7$...`/`$6$...` hash. */
  passwordHash: string;
  /** Clock ms. */
  createdAt: number;
  updatedAt: number;
}

export type AclAction = "publish" | "subscribe" | "both";
export type AclPermission = "allow" | "deny";

/**
 * One ACL rule. Who it applies to: `username`, or `clientId`, or `anonymous: true` (clients without
 * a user name); none of them = every client. Rules are checked in order, first match wins.
 */
export interface AclRule {
  username?: string;
  clientId?: string;
  anonymous?: boolean;
  /** Topic filter; `%u` is replaced by the user name and `%c` by the client id (no match when absent). */
  topic: string;
  action: AclAction;
  permission: AclPermission;
  /** Allow rules only: publishes above this QoS are denied, subscriptions are granted at most this QoS. */
  maxQos?: QoS;
  /** Allow rules only: false = retained publishes are denied by this rule. */
  retain?: boolean;
}

export type BanKind = "clientId" | "username" | "address";

export interface Ban {
  kind: BanKind;
  /** The client id, the user name, or an IPv4/IPv6 address or CIDR block (e.g. 10.0.0.0/8). */
  value: string;
  /** Why, for operators: "flapping", "authentication failures", or free text from the CLI. */
  reason: string;
  /** Clock ms. */
  createdAt: number;
  /** Clock ms after which the ban no longer applies; null = until lifted. */
  expiresAt: number | null;
}

export interface SecurityStore {
  getUser(username: string): Promise<UserRecord | undefined>;
  listUsers(): Promise<UserRecord[]>;
  /** Insert or replace by username. */
  putUser(user: UserRecord): Promise<void>;
  /** False when there was no such user. */
  deleteUser(username: string): Promise<boolean>;

  /** Stored ACL rules in order (the YAML file's rules come before them). */
  listAclRules(): Promise<AclRule[]>;
  /** Insert at `position` (0-based; default: at the end). */
  addAclRule(rule: AclRule, position?: number): Promise<void>;
  /** False when there is no rule at `position`. */
  deleteAclRule(position: number): Promise<boolean>;
  replaceAclRules(rules: readonly AclRule[]): Promise<void>;

  /** Bans in force at `now` (expired ones are left out). */
  listBans(now: number): Promise<Ban[]>;
  /** Insert, or replace the ban with the same kind and value. */
  addBan(ban: Ban): Promise<void>;
  /** False when there was no such ban. */
  liftBan(kind: BanKind, value: string): Promise<boolean>;
  /** Delete bans expired at `now`; returns how many. */
  deleteExpiredBans(now: number): Promise<number>;
}
