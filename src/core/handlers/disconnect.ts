/** DISCONNECT from the client and AUTH (5.0 sections 3.14 and 3.15). */
import type { IAuthPacket, IDisconnectPacket } from "../../protocol/codec.ts";
import { ProtocolError, ReasonCode } from "../../protocol/reason-codes.ts";
import type { Connection } from "../connection.ts";

export function handleDisconnect(conn: Connection, packet: IDisconnectPacket): void {
  const reasonCode = packet.reasonCode ?? ReasonCode.Success;
  const expiry = packet.properties?.sessionExpiryInterval;
  if (expiry !== undefined && conn.session) {
    // A session that ended at close may not be revived by DISCONNECT [v5 §3.14.2.2.2].
    if (conn.connectSessionExpiry === 0 && expiry !== 0) {
      throw new ProtocolError(ReasonCode.ProtocolError, "Session Expiry Interval set on DISCONNECT after 0 on CONNECT");
    }
    conn.session.expiryInterval = Math.min(expiry, conn.limits.maxSessionExpiryInterval);
    conn.ctx.persistence.setPersistent(conn.session, conn.session.expiryInterval > 0, true);
  }
  // 0x04 Disconnect with Will Message keeps the will; any other DISCONNECT deletes it [v5 MQTT-3.14.4-3].
  if (reasonCode !== ReasonCode.DisconnectWithWill) conn.discardWill();
  conn.logger.info("client disconnected", { reasonCode });
  conn.closeTransport(
    reasonCode === ReasonCode.Success ? "client disconnected" : `client disconnected (reason code 0x${reasonCode.toString(16).padStart(2, "0")})`,
  );
}

/** AUTH: only valid when CONNECT named an authentication method (5.0 section 4.12). */
export async function handleAuth(conn: Connection, packet: IAuthPacket): Promise<void> {
  const method = packet.properties?.authenticationMethod;
  if (!conn.authMethod || method !== conn.authMethod) {
    throw new ProtocolError(ReasonCode.ProtocolError, "AUTH without the authentication method given in CONNECT");
  }
  const reauthenticate = conn.state === "connected";
  // AUTH 0x19 starts a new exchange: its steps count from 0 again, as the CONNECT's did.
  if (reauthenticate && packet.reasonCode === ReasonCode.ReAuthenticate) conn.occasional.authStep = 0;
  const result = await conn.ctx.hooks.enhancedAuth({
    clientId: conn.clientId,
    method,
    data: packet.properties?.authenticationData,
    step: conn.occasional.authStep++,
    reauthenticate,
  });
  if (result.result === "continue") {
    conn.send({
      cmd: "auth",
      reasonCode: ReasonCode.ContinueAuthentication,
      properties: { authenticationMethod: method, authenticationData: result.data as never },
    });
    return;
  }
  if (result.result !== "allow") {
    if (reauthenticate) conn.disconnect(ReasonCode.NotAuthorized, "re-authentication failed");
    else conn.fail(new ProtocolError(ReasonCode.NotAuthorized, "authentication failed"));
    return;
  }
  if (reauthenticate) {
    const properties = { authenticationMethod: method, ...(result.data ? { authenticationData: result.data as never } : {}) };
    conn.send({ cmd: "auth", reasonCode: ReasonCode.Success, properties });
    return;
  }
  // Once: the closure holds the CONNECT packet, which the connection need not keep after the handshake.
  const finish = conn.occasional.pendingConnect;
  conn.occasional.pendingConnect = undefined;
  await finish?.(result.data);
}
